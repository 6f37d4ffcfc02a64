//! One module per scenario. Each measures Latchkey and its limit on this machine in the same
//! run and returns its row(s) of the table, with the load's samples for the error count.

pub mod login;
pub mod mixed;
pub mod protected;
pub mod refresh;
pub mod scale;

use std::path::PathBuf;

use crate::Plan;
use crate::server::ServerSpec;

/// What every scenario gets: the running server, its users and one signed-in token.
pub struct Context<'a> {
    pub client: &'a reqwest::Client,
    pub base: String,
    pub users: Vec<String>,
    /// An access token of the first user, for the protected loads.
    pub token: String,
    pub plan: &'a Plan,
    pub cores: usize,
    pub cost: u32,
    pub dir: PathBuf,
    pub spec: &'a ServerSpec,
}
