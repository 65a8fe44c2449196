//! Leases, fencing epochs and node liveness.
//!
//! A meeting's lease is the key `podium:m:<id>:lease`, set with `SET NX PX` semantics
//! by [`scripts::ACQUIRE`], which in the same step raises the meeting's epoch and
//! stores `<node>/<epoch>` as the lease's value. The owner renews it every third of its
//! TTL ([`scripts::RENEW`] extends it only if the value is still ours); an owner that
//! stops renewing — crashed, paused, cut off — loses it when the TTL runs out, and the
//! next acquisition raises the epoch, which fences every write of the old owner
//! (see [`super::journal`]). Expiry is Redis's clock alone: nodes' clocks play no part.
//!
//! A node announces itself with `podium:node:<name>` (its process's random instance id,
//! with the same TTL), refreshed with the renewals. The node that *should* own a meeting
//! is the live node with the highest rendezvous hash of (meeting, node): every node
//! computes the same answer from the same list, and a node joining or leaving moves only
//! the meetings it wins or held.

use super::scripts::{is_noscript, Scripts};
use super::{keys, ClusterConfig, ClusterError};
use redis::aio::ConnectionManager;
use redis::{RedisResult, Value};
use sha2::{Digest, Sha256};

/// Runs `cmds` (EVALSHA of `scripts`) in one pipeline, loading the scripts and trying once
/// more if the server forgot them (it restarted).
pub async fn eval_pipeline(
    conn: &mut ConnectionManager,
    scripts: &Scripts,
    cmds: &[redis::Cmd],
) -> RedisResult<Vec<Value>> {
    if cmds.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for c in cmds {
        pipe.add_command(c.clone());
    }
    match pipe.query_async::<Vec<Value>>(conn).await {
        Err(e) if is_noscript(&e) => {
            scripts.load_pipeline().query_async::<()>(conn).await?;
            pipe.query_async(conn).await
        }
        other => other,
    }
}

/// Runs one script call, loading the scripts first if the server forgot them.
pub async fn eval(
    conn: &mut ConnectionManager,
    scripts: &Scripts,
    cmd: redis::Cmd,
) -> RedisResult<Value> {
    let mut v = eval_pipeline(conn, scripts, &[cmd]).await?;
    Ok(v.pop().unwrap_or(Value::Nil))
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        _ => 0,
    }
}

/// The value a lease holds for `node` at `epoch`.
pub fn lease_value(node: &str, epoch: u64) -> String {
    format!("{node}/{epoch}")
}

/// Parses a lease value into (node, epoch).
pub fn parse_lease(v: &str) -> Option<(String, u64)> {
    let (node, epoch) = v.rsplit_once('/')?;
    Some((node.to_string(), epoch.parse().ok()?))
}

/// Announces this node; refuses a name a live process of another instance holds.
pub async fn register(
    conn: &mut ConnectionManager,
    cfg: &ClusterConfig,
    instance: &str,
) -> Result<(), ClusterError> {
    let key = keys::node(&cfg.node_id);
    let ttl = cfg.lease_ttl.as_millis() as u64;
    // A node restarted after a crash finds its old heartbeat until it expires: wait that
    // long. A name still renewed after a whole TTL belongs to another live process.
    let deadline =
        std::time::Instant::now() + cfg.lease_ttl + std::time::Duration::from_millis(500);
    loop {
        let set: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(instance)
            .arg("NX")
            .arg("PX")
            .arg(ttl)
            .query_async(conn)
            .await
            .map_err(|e| ClusterError::Connect {
                url: cfg.url.clone(),
                problem: e.to_string(),
            })?;
        if set.is_some() {
            break;
        }
        if std::time::Instant::now() > deadline {
            return Err(ClusterError::NodeIdTaken(cfg.node_id.clone()));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let _: () = redis::cmd("SADD")
        .arg(keys::NODES)
        .arg(&cfg.node_id)
        .query_async(conn)
        .await?;
    Ok(())
}

/// Refreshes this node's heartbeat and returns the live nodes (sorted).
pub async fn heartbeat(
    conn: &mut ConnectionManager,
    cfg: &ClusterConfig,
    instance: &str,
) -> RedisResult<Vec<String>> {
    let ttl = cfg.lease_ttl.as_millis() as u64;
    let (_, names): (i64, Vec<String>) = redis::pipe()
        .cmd("SET")
        .arg(keys::node(&cfg.node_id))
        .arg(instance)
        .arg("PX")
        .arg(ttl)
        .ignore()
        .cmd("SADD")
        .arg(keys::NODES)
        .arg(&cfg.node_id)
        .cmd("SMEMBERS")
        .arg(keys::NODES)
        .query_async(conn)
        .await?;
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let node_keys: Vec<String> = names.iter().map(|n| keys::node(n)).collect();
    let alive: Vec<Option<String>> = redis::cmd("MGET").arg(&node_keys).query_async(conn).await?;
    let mut live: Vec<String> = names
        .into_iter()
        .zip(alive)
        .filter_map(|(n, a)| a.map(|_| n))
        .collect();
    live.sort();
    Ok(live)
}

/// Takes the lease of a meeting: `Ok(Some(epoch))` if taken, `Ok(None)` if held by
/// another node or the meeting is not live.
pub async fn acquire(
    conn: &mut ConnectionManager,
    scripts: &Scripts,
    cfg: &ClusterConfig,
    meeting: &str,
) -> RedisResult<Option<u64>> {
    let (lease, head, record) = (
        keys::m(meeting, "lease"),
        keys::m(meeting, "head"),
        keys::meeting(meeting),
    );
    let mut cmd = scripts.acquire.cmd(&[&lease, &head, &record]);
    cmd.arg(&cfg.node_id).arg(cfg.lease_ttl.as_millis() as u64);
    let e = int(&eval(conn, scripts, cmd).await?);
    Ok((e > 0).then_some(e as u64))
}

/// Renews leases held as `(meeting, value)`; returns, for each, whether it is still ours.
pub async fn renew(
    conn: &mut ConnectionManager,
    scripts: &Scripts,
    cfg: &ClusterConfig,
    held: &[(String, String)],
) -> RedisResult<Vec<bool>> {
    let cmds: Vec<redis::Cmd> = held
        .iter()
        .map(|(m, value)| {
            let mut c = scripts.renew.cmd(&[&keys::m(m, "lease")]);
            c.arg(value).arg(cfg.lease_ttl.as_millis() as u64);
            c
        })
        .collect();
    Ok(eval_pipeline(conn, scripts, &cmds)
        .await?
        .iter()
        .map(|v| int(v) == 1)
        .collect())
}

/// Gives a lease up (it must still be ours) and tells the other nodes.
pub async fn release(
    conn: &mut ConnectionManager,
    scripts: &Scripts,
    meeting: &str,
    value: &str,
) -> RedisResult<bool> {
    let mut cmd = scripts.release.cmd(&[&keys::m(meeting, "lease")]);
    cmd.arg(value).arg(meeting);
    Ok(int(&eval(conn, scripts, cmd).await?) == 1)
}

/// The lease holders of `meetings`, in order: (node, epoch) or `None` if free.
pub async fn holders(
    conn: &mut ConnectionManager,
    meetings: &[String],
) -> RedisResult<Vec<Option<(String, u64)>>> {
    if meetings.is_empty() {
        return Ok(Vec::new());
    }
    let lease_keys: Vec<String> = meetings.iter().map(|m| keys::m(m, "lease")).collect();
    let values: Vec<Option<String>> = redis::cmd("MGET")
        .arg(&lease_keys)
        .query_async(conn)
        .await?;
    Ok(values
        .into_iter()
        .map(|v| v.and_then(|v| parse_lease(&v)))
        .collect())
}

/// The journal's last seq of each meeting (to notice a node that fell behind).
pub async fn heads(conn: &mut ConnectionManager, meetings: &[String]) -> RedisResult<Vec<u64>> {
    let mut pipe = redis::pipe();
    for m in meetings {
        pipe.cmd("HGET").arg(keys::m(m, "head")).arg("seq");
    }
    let seqs: Vec<Option<u64>> = pipe.query_async(conn).await?;
    Ok(seqs.into_iter().map(|s| s.unwrap_or(0)).collect())
}

/// The live node that should own `meeting` (highest rendezvous hash), if any is live.
pub fn preferred<'a>(meeting: &str, live: &'a [String]) -> Option<&'a String> {
    live.iter().max_by_key(|node| {
        let mut h = Sha256::new();
        h.update(meeting.as_bytes());
        h.update([0]);
        h.update(node.as_bytes());
        let d = h.finalize();
        u64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_values_parse_back() {
        assert_eq!(
            parse_lease(&lease_value("node-a:8080", 12)),
            Some(("node-a:8080".to_string(), 12))
        );
        assert_eq!(parse_lease("garbage"), None);
    }

    #[test]
    fn rendezvous_moves_only_what_a_new_node_wins() {
        let two: Vec<String> = vec!["a".into(), "b".into()];
        let three: Vec<String> = vec!["a".into(), "b".into(), "c".into()];
        let mut moved_elsewhere = 0;
        let mut to_c = 0;
        for i in 0..300 {
            let m = format!("meeting-{i}");
            let before = preferred(&m, &two).unwrap();
            let after = preferred(&m, &three).unwrap();
            if after == "c" {
                to_c += 1;
            } else if after != before {
                moved_elsewhere += 1;
            }
        }
        assert_eq!(moved_elsewhere, 0, "only meetings won by the new node move");
        assert!(
            (60..=140).contains(&to_c),
            "about a third move to c: {to_c}"
        );
    }
}
