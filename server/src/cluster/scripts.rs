//! The Lua scripts Podium runs inside Redis. Each runs atomically: no other command
//! interleaves with it, which is what makes a fenced append a single step ("check the
//! epoch and the last seq, then append") rather than a check followed by a racing write.
//!
//! Scripts are sent by SHA-1 (`EVALSHA`); a server that does not know one (it restarted:
//! the script cache is not persisted) answers `NOSCRIPT`, and the caller loads the
//! scripts (`SCRIPT LOAD`) and sends again — safe, since a refused `EVALSHA` ran nothing.

/// Appends one turn of a meeting: checks that the caller holds the lease at the current
/// epoch and that the journal ends where the caller thinks, then adds the events, the
/// snapshot, new tokens, deletes revoked ones, bars removed participants and writes the
/// commands' idempotency records. Returns 0 (done), -1 (fenced: not the owner at this
/// epoch) or -2 (the journal does not end at `first_seq - 1`).
///
/// KEYS: head, lease, journal, snap, tokens, meeting tokens, idem, idemz, removed.
/// ARGV: epoch, lease value, first seq, n, n events, has snapshot (0/1), snapshot seq,
/// snapshot state, snapshot agenda (or empty), t, t × (token hash, row), r, r × revoked
/// hash, k, k × (record field, record value, at), record lifetime (ms), p, p × removed
/// participant.
pub const APPEND: &str = r#"
local epoch = ARGV[1]
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return -1 end
local head = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
if head[1] ~= epoch then return -1 end
local first = tonumber(ARGV[3])
local last = tonumber(head[2] or '0')
if last ~= first - 1 then return -2 end
local i = 4
local n = tonumber(ARGV[i]); i = i + 1
for j = 0, n - 1 do
  redis.call('XADD', KEYS[3], string.format('%d-0', first + j), 'e', ARGV[i], 'ep', epoch)
  i = i + 1
end
redis.call('HSET', KEYS[1], 'seq', string.format('%d', first + n - 1))
if ARGV[i] == '1' then
  redis.call('HSET', KEYS[4], 'seq', ARGV[i + 1], 'state', ARGV[i + 2])
  if ARGV[i + 3] == '' then
    redis.call('HDEL', KEYS[4], 'agenda')
  else
    redis.call('HSET', KEYS[4], 'agenda', ARGV[i + 3])
  end
end
i = i + 4
local t = tonumber(ARGV[i]); i = i + 1
for j = 1, t do
  redis.call('HSET', KEYS[5], ARGV[i], ARGV[i + 1])
  redis.call('RPUSH', KEYS[6], ARGV[i])
  i = i + 2
end
local r = tonumber(ARGV[i]); i = i + 1
for j = 1, r do
  redis.call('HDEL', KEYS[5], ARGV[i])
  redis.call('LREM', KEYS[6], 0, ARGV[i])
  i = i + 1
end
local k = tonumber(ARGV[i]); i = i + 1
local newest = nil
for j = 1, k do
  redis.call('HSET', KEYS[7], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[8], ARGV[i + 2], ARGV[i])
  newest = tonumber(ARGV[i + 2])
  i = i + 3
end
local lifetime = tonumber(ARGV[i]); i = i + 1
if newest then
  local old = redis.call('ZRANGEBYSCORE', KEYS[8], '-inf',
    string.format('(%d', newest - lifetime), 'LIMIT', 0, 256)
  if #old > 0 then
    redis.call('HDEL', KEYS[7], unpack(old))
    redis.call('ZREM', KEYS[8], unpack(old))
  end
end
local p = tonumber(ARGV[i]); i = i + 1
for j = 1, p do
  redis.call('SADD', KEYS[9], ARGV[i])
  i = i + 1
end
return 0
"#;

/// Takes a free lease of a live meeting and raises its epoch: returns the new epoch, 0
/// if another node holds the lease, -1 if the meeting is not live.
///
/// KEYS: lease, head, meeting record. ARGV: node, ttl (ms).
pub const ACQUIRE: &str = r#"
if redis.call('HGET', KEYS[3], 'status') ~= 'live' then return -1 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local e = redis.call('HINCRBY', KEYS[2], 'epoch', 1)
redis.call('SET', KEYS[1], ARGV[1] .. '/' .. e, 'PX', ARGV[2])
return e
"#;

/// Extends a lease the caller holds: 1, or 0 if the lease is not (any more) the caller's.
///
/// KEYS: lease. ARGV: lease value, ttl (ms).
pub const RENEW: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"#;

/// Gives a lease up (graceful hand-over) and tells the other nodes at once.
///
/// KEYS: lease. ARGV: lease value, meeting id.
pub const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', 'podium:events', 'released ' .. ARGV[2])
  return 1
end
return 0
"#;

/// Creates a meeting with its role tokens; 0 if the id is taken. Raises the epoch so a
/// writer left over from a deleted meeting of the same id is fenced.
///
/// KEYS: meetings, meeting record, tokens, meeting tokens, head, meetings ver.
/// ARGV: id, agenda JSON, created at, t, t × (token hash, row).
pub const CREATE: &str = r#"
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[2], 'agenda', ARGV[2], 'status', 'live', 'created_at', ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
local t = tonumber(ARGV[4])
local i = 5
for j = 1, t do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  redis.call('RPUSH', KEYS[4], ARGV[i])
  i = i + 2
end
redis.call('HINCRBY', KEYS[5], 'epoch', 1)
redis.call('HSET', KEYS[5], 'seq', '0')
redis.call('INCR', KEYS[6])
redis.call('PUBLISH', 'podium:events', 'meetings')
return 1
"#;

/// Sets a meeting's status; archiving raises the epoch, which fences its owner. 0 if
/// there is no such meeting.
///
/// KEYS: meeting record, head, meetings ver. ARGV: status.
pub const STATUS: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
if ARGV[1] ~= 'live' then redis.call('HINCRBY', KEYS[2], 'epoch', 1) end
redis.call('INCR', KEYS[3])
redis.call('PUBLISH', 'podium:events', 'meetings')
return 1
"#;

/// Deletes a meeting and everything kept for it (journal, tokens, API keys, idempotency
/// records), fencing its owner. 0 if there is no such meeting.
///
/// KEYS: meetings, meeting record, tokens, meeting tokens, head, journal, snap, idem,
/// idemz, lease, meetings ver, removed, meeting API keys, API keys. ARGV: id.
pub const DELETE: &str = r#"
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local toks = redis.call('LRANGE', KEYS[4], 0, -1)
for _, h in ipairs(toks) do redis.call('HDEL', KEYS[3], h) end
local api = redis.call('HVALS', KEYS[13])
for _, h in ipairs(api) do
  redis.call('DEL', 'podium:apikey:' .. h)
  redis.call('SREM', KEYS[14], h)
end
redis.call('DEL', KEYS[2], KEYS[4], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[12], KEYS[13])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HINCRBY', KEYS[5], 'epoch', 1)
redis.call('HSET', KEYS[5], 'seq', '0')
redis.call('INCR', KEYS[11])
redis.call('PUBLISH', 'podium:events', 'meetings')
return 1
"#;

/// Adds an API key unless its meeting has a key with its id: 1, or 0.
///
/// KEYS: meeting API keys, the key's hash, API keys. ARGV: id, hash (hex), meeting, role,
/// person (or empty), label, created at.
pub const KEY_CREATE: &str = r#"
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], 'meeting', ARGV[3], 'id', ARGV[1], 'role', ARGV[4],
  'person', ARGV[5], 'label', ARGV[6], 'created_at', ARGV[7])
redis.call('SADD', KEYS[3], ARGV[2])
return 1
"#;

/// Revokes a key (its first revocation time stays) and returns its hash, or nil if the
/// meeting has no such key.
///
/// KEYS: meeting API keys. ARGV: id, at.
pub const KEY_REVOKE: &str = r#"
local h = redis.call('HGET', KEYS[1], ARGV[1])
if not h then return nil end
redis.call('HSETNX', 'podium:apikey:' .. h, 'revoked_at', ARGV[2])
return h
"#;

/// Records a key's last use (the latest wins).
///
/// KEYS: meeting API keys. ARGV: id, at.
pub const KEY_TOUCH: &str = r#"
local h = redis.call('HGET', KEYS[1], ARGV[1])
if not h then return 0 end
local k = 'podium:apikey:' .. h
local cur = tonumber(redis.call('HGET', k, 'last_used_at') or '0')
if tonumber(ARGV[2]) > cur then redis.call('HSET', k, 'last_used_at', ARGV[2]) end
return 1
"#;

/// A script and its SHA-1, for `EVALSHA`.
pub struct Lua {
    /// The source, for `SCRIPT LOAD`.
    pub source: &'static str,
    /// Its SHA-1 (hex), as Redis names it.
    pub sha: String,
}

impl Lua {
    fn new(source: &'static str) -> Lua {
        Lua {
            source,
            sha: redis::Script::new(source).get_hash().to_string(),
        }
    }

    /// An `EVALSHA` command for this script with `keys`; add the arguments to it.
    pub fn cmd(&self, keys: &[&str]) -> redis::Cmd {
        let mut c = redis::cmd("EVALSHA");
        c.arg(&self.sha).arg(keys.len());
        for k in keys {
            c.arg(*k);
        }
        c
    }
}

/// Every script, hashed once.
pub struct Scripts {
    /// [`APPEND`].
    pub append: Lua,
    /// [`ACQUIRE`].
    pub acquire: Lua,
    /// [`RENEW`].
    pub renew: Lua,
    /// [`RELEASE`].
    pub release: Lua,
    /// [`CREATE`].
    pub create: Lua,
    /// [`STATUS`].
    pub status: Lua,
    /// [`DELETE`].
    pub delete: Lua,
    /// [`KEY_CREATE`].
    pub key_create: Lua,
    /// [`KEY_REVOKE`].
    pub key_revoke: Lua,
    /// [`KEY_TOUCH`].
    pub key_touch: Lua,
}

impl Scripts {
    /// Hashes every script.
    pub fn new() -> Scripts {
        Scripts {
            append: Lua::new(APPEND),
            acquire: Lua::new(ACQUIRE),
            renew: Lua::new(RENEW),
            release: Lua::new(RELEASE),
            create: Lua::new(CREATE),
            status: Lua::new(STATUS),
            delete: Lua::new(DELETE),
            key_create: Lua::new(KEY_CREATE),
            key_revoke: Lua::new(KEY_REVOKE),
            key_touch: Lua::new(KEY_TOUCH),
        }
    }

    fn all(&self) -> [&Lua; 10] {
        [
            &self.append,
            &self.acquire,
            &self.renew,
            &self.release,
            &self.create,
            &self.status,
            &self.delete,
            &self.key_create,
            &self.key_revoke,
            &self.key_touch,
        ]
    }

    /// The `SCRIPT LOAD` pipeline for every script.
    pub fn load_pipeline(&self) -> redis::Pipeline {
        let mut p = redis::pipe();
        for s in self.all() {
            p.cmd("SCRIPT").arg("LOAD").arg(s.source).ignore();
        }
        p
    }
}

impl Default for Scripts {
    fn default() -> Self {
        Scripts::new()
    }
}

/// Whether a Redis error is `NOSCRIPT` (the server lost its script cache).
pub fn is_noscript(e: &redis::RedisError) -> bool {
    e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
}
