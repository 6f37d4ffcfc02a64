//! Request addresses no route can serve. A NUL character (`%00`) fits in no name or id Latchkey
//! stores, and PostgreSQL refuses it in text outright, so it is answered here, the same way on
//! both backends, before any handler or query sees it.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::error::ApiError;

pub async fn refuse_nul<B: MessageBody>(
    request: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let uri = request.uri();
    let has_nul = |text: &str| text.contains("%00");
    if has_nul(uri.path()) || uri.query().is_some_and(has_nul) {
        let refused = ApiError::BadRequest(
            "The address contains a NUL character (%00); no name or id can contain one.".into(),
        );
        return Ok(request.error_response(refused).map_into_right_body());
    }
    next.call(request)
        .await
        .map(ServiceResponse::map_into_left_body)
}
