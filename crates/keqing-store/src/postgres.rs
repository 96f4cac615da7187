//! PostgreSQL backend (written next).
pub struct PgStore;
impl PgStore {
    pub async fn open(_url: &str) -> crate::Result<PgStore> {
        Err(crate::StoreError::Db(
            "postgres backend not built yet".into(),
        ))
    }
}
