//! Multi-document transactions with the retries MongoDB asks for: the whole body again on
//! `TransientTransactionError` (a write conflict, a failover), the commit again on
//! `UnknownTransactionCommitResult`.

use std::time::Duration;

use crate::Store;
use futures_util::future::BoxFuture;
use mongodb::ClientSession;
use mongodb::error::{TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};

const MAX_ATTEMPTS: u32 = 10;

/// Runs `body` in a transaction and commits it. `body` may run more than once, so it must
/// only read and write through the session and return what it decided.
pub async fn transaction<T, F>(store: &Store, mut body: F) -> mongodb::error::Result<T>
where
    F: for<'s> FnMut(&'s mut ClientSession) -> BoxFuture<'s, mongodb::error::Result<T>>,
{
    let mut session = store.client().start_session().await?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        session.start_transaction().await?;
        let result = match body(&mut session).await {
            Ok(value) => commit(&mut session).await.map(|()| value),
            Err(err) => {
                let _ = session.abort_transaction().await;
                Err(err)
            }
        };
        match result {
            Err(err) if collided(&err) && attempt < MAX_ATTEMPTS => {
                tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt))).await;
            }
            other => return other,
        }
    }
}

/// A transaction that collided with another (a write conflict) is worth running again at
/// once. A store that cannot be reached is not: that error goes back to the consumer, whose
/// backoff waits the outage out (and says so), instead of spending its attempts here.
fn collided(err: &mongodb::error::Error) -> bool {
    use mongodb::error::ErrorKind;
    super::is_write_conflict(err)
        || (err.contains_label(TRANSIENT_TRANSACTION_ERROR)
            && !matches!(
                err.kind.as_ref(),
                ErrorKind::ServerSelection { .. }
                    | ErrorKind::Io(_)
                    | ErrorKind::ConnectionPoolCleared { .. }
            ))
}

async fn commit(session: &mut ClientSession) -> mongodb::error::Result<()> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match session.commit_transaction().await {
            Err(err) if err.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) && attempt < 3 => continue,
            other => return other,
        }
    }
}
