//! Files only the server's own user may read: the data folder (0700), the database with its WAL
//! and shared-memory files, the secret and every backup (0600), whatever the umask. Modes are set
//! explicitly after creation, because the umask only ever removes bits.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const PRIVATE_DIR: u32 = 0o700;
pub const PRIVATE_FILE: u32 = 0o600;

/// Creates `dir` (and missing parents) if it is not there; a folder this creates is 0700.
/// An existing folder is left as it is.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR)
        .create(dir)?;
    fs::set_permissions(dir, Permissions::from_mode(PRIVATE_DIR))
}

/// Creates a new, empty file readable by its owner only. Refuses a path that exists in any
/// form, a symbolic link included (dangling or not): it is never followed.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    file.set_permissions(Permissions::from_mode(PRIVATE_FILE))?;
    Ok(file)
}

/// Takes group and other permissions away from an existing regular file (a database made by an
/// older version, under a looser umask). A missing file is fine.
pub fn make_private(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() && meta.permissions().mode() & 0o077 != 0 => {
            fs::set_permissions(path, Permissions::from_mode(PRIVATE_FILE))
        }
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_folders_and_files_are_private_and_links_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a/data");
        ensure_private_dir(&data).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        let file = data.join("f");
        create_private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        assert!(create_private_file(&file).is_err(), "exists");
        let link = data.join("link");
        std::os::unix::fs::symlink(data.join("nowhere"), &link).unwrap();
        assert!(create_private_file(&link).is_err(), "dangling link");
        assert!(!data.join("nowhere").exists(), "the link was not followed");
        let loose = data.join("loose");
        fs::write(&loose, b"x").unwrap();
        fs::set_permissions(&loose, Permissions::from_mode(0o644)).unwrap();
        make_private(&loose).unwrap();
        assert_eq!(mode(&loose), 0o600);
    }
}
