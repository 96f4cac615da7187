//! Regions, teams, users, sessions and the audit log (SPEC §9).

use super::*;

#[async_trait]
impl PeopleStore for SqliteStore {
    async fn regions(&self) -> Result<Vec<Region>> {
        self.read(|c| {
            let mut st = c
                .prepare(&format!("{REGION_SELECT} ORDER BY r.id"))
                .map_err(sq)?;
            let v = rows_of(&mut st, [], region_row)?;
            Ok(v)
        })
        .await
    }

    async fn create_region(&self, name: &str, actor: Option<i64>) -> Result<Region> {
        let name = name.to_string();
        self.tx(move |t| {
            let existing: Option<i64> = t
                .query_row("SELECT id FROM regions WHERE name = ?1", [&name], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(sq)?;
            if let Some(id) = existing {
                return Err(StoreError::Duplicate(vec![id]));
            }
            let now = ts(Utc::now());
            t.execute(
                "INSERT INTO regions (name, created_at) VALUES (?1, ?2)",
                params![name, now],
            )
            .map_err(sq)?;
            let id = t.last_insert_rowid();
            audit_row(
                t,
                actor,
                "create",
                "region",
                Some(id),
                &serde_json::json!({"name": name}),
                &now,
            )?;
            t.query_row(
                &format!("{REGION_SELECT} WHERE r.id = ?1"),
                [id],
                region_row,
            )
            .map_err(sq)
        })
        .await
    }

    async fn delete_region(&self, id: i64, actor: Option<i64>) -> Result<()> {
        self.tx(move |t| {
            let r = t
                .query_row(
                    &format!("{REGION_SELECT} WHERE r.id = ?1"),
                    [id],
                    region_row,
                )
                .optional()
                .map_err(sq)?
                .ok_or(StoreError::NotFound)?;
            if r.users > 0 || r.teams > 0 {
                return Err(refuse::region_in_use(&r.name, r.users, r.teams));
            }
            t.execute("DELETE FROM regions WHERE id = ?1", [id])
                .map_err(sq)?;
            audit_row(
                t,
                actor,
                "delete",
                "region",
                Some(id),
                &serde_json::json!({"name": r.name}),
                &ts(Utc::now()),
            )
        })
        .await
    }

    async fn update_team(&self, id: i64, change: &TeamChange, actor: Option<i64>) -> Result<Team> {
        let change = change.clone();
        self.tx(move |t| {
            let old = t
                .query_row(
                    "SELECT id, name, region FROM teams WHERE id = ?1",
                    [id],
                    |r| {
                        Ok(Team {
                            id: r.get(0)?,
                            name: r.get(1)?,
                            region: r.get(2)?,
                        })
                    },
                )
                .optional()
                .map_err(sq)?
                .ok_or(StoreError::NotFound)?;
            let new = change.apply(&old);
            let Some(detail) = team_change_detail(&old, &new) else {
                return Ok(old);
            };
            ensure_region(t, new.region.as_deref())?;
            t.execute(
                "UPDATE teams SET name = ?2, region = ?3 WHERE id = ?1",
                params![id, new.name, new.region],
            )
            .map_err(|e| team_name_taken(e, &new.name))?;
            audit_row(
                t,
                actor,
                "update",
                "team",
                Some(id),
                &detail,
                &ts(Utc::now()),
            )?;
            Ok(new)
        })
        .await
    }

    async fn create_team(&self, name: &str, region: Option<&str>) -> Result<Team> {
        let (name, region) = (name.to_string(), region.map(str::to_string));
        self.tx(move |t| {
            ensure_region(t, region.as_deref())?;
            t.execute(
                "INSERT INTO teams (name, region) VALUES (?1, ?2)",
                params![name, region],
            )
            .map_err(|e| team_name_taken(e, &name))?;
            Ok(Team {
                id: t.last_insert_rowid(),
                name,
                region,
            })
        })
        .await
    }

    async fn teams(&self) -> Result<Vec<Team>> {
        self.read(|c| {
            let mut st = c
                .prepare("SELECT id, name, region FROM teams ORDER BY id")
                .map_err(sq)?;
            let v = rows_of(&mut st, [], |r| {
                Ok(Team {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    region: r.get(2)?,
                })
            })?;
            Ok(v)
        })
        .await
    }

    async fn create_user(&self, u: &NewUser) -> Result<User> {
        let u = u.clone();
        self.tx(move |t| {
            let now = ts(Utc::now());
            ensure_region(t, u.region.as_deref())?;
            t.execute(
                "INSERT INTO users (username, display_name, role, team_id, region, password_hash, active, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)",
                params![u.username, u.display_name, u.role.as_str(), u.team_id, u.region, u.password_hash, now],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                    refuse::user_exists(&u.username)
                }
                e => sq(e),
            })?;
            let id = t.last_insert_rowid();
            t.query_row(&format!("SELECT {USER_COLS} FROM users WHERE id = ?1"), [id], user_row).map_err(sq)
        })
        .await
    }

    async fn user(&self, id: i64) -> Result<Option<User>> {
        self.read(move |c| {
            c.query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
                [id],
                user_row,
            )
            .optional()
            .map_err(sq)
        })
        .await
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<(User, String)>> {
        let name = username.to_string();
        self.read(move |c| {
            c.query_row(
                &format!("SELECT {USER_COLS}, password_hash FROM users WHERE username = ?1"),
                [name],
                |r| Ok((user_row(r)?, r.get(7)?)),
            )
            .optional()
            .map_err(sq)
        })
        .await
    }

    async fn users(&self) -> Result<Vec<User>> {
        self.read(|c| {
            let mut st = c
                .prepare(&format!("SELECT {USER_COLS} FROM users ORDER BY id"))
                .map_err(sq)?;
            let v = rows_of(&mut st, [], user_row)?;
            Ok(v)
        })
        .await
    }

    async fn user_starts(&self) -> Result<HashMap<i64, DateTime<Utc>>> {
        self.read(|c| {
            let mut st = c
                .prepare_cached("SELECT id, created_at FROM users")
                .map_err(sq)?;
            let rows = rows_of(&mut st, [], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?;
            rows.into_iter()
                .map(|(id, at)| Ok((id, parse_ts(&at).map_err(sq)?)))
                .collect()
        })
        .await
    }

    async fn set_user_since(&self, user_id: i64, since: DateTime<Utc>) -> Result<()> {
        self.tx(move |t| {
            match t
                .execute(
                    "UPDATE users SET created_at = ?2 WHERE id = ?1",
                    params![user_id, ts(since)],
                )
                .map_err(sq)?
            {
                0 => Err(StoreError::NotFound),
                _ => Ok(()),
            }
        })
        .await
    }

    async fn set_password(&self, user_id: i64, hash: &str) -> Result<()> {
        let hash = hash.to_string();
        self.tx(move |t| {
            let n = t
                .execute(
                    "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                    params![user_id, hash],
                )
                .map_err(sq)?;
            // A new password ends every session of the old one.
            t.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])
                .map_err(sq)?;
            if n == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        })
        .await
    }

    async fn change_password(
        &self,
        user_id: i64,
        hash: &str,
        keep: Option<&str>,
        action: &str,
        actor: Option<i64>,
    ) -> Result<()> {
        let (hash, keep, action) = (
            hash.to_string(),
            keep.map(str::to_string),
            action.to_string(),
        );
        self.tx(move |t| {
            let n = t
                .execute(
                    "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                    params![user_id, hash],
                )
                .map_err(sq)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            let ended = t
                .execute(
                    "DELETE FROM sessions WHERE user_id = ?1 AND token_hash IS NOT ?2",
                    params![user_id, keep],
                )
                .map_err(sq)?;
            audit_row(
                t,
                actor,
                &action,
                "user",
                Some(user_id),
                &serde_json::json!({"sessions_ended": ended}),
                &ts(Utc::now()),
            )
        })
        .await
    }

    async fn set_user_active(&self, user_id: i64, active: bool) -> Result<()> {
        self.tx(move |t| {
            let n = t
                .execute(
                    "UPDATE users SET active = ?2 WHERE id = ?1",
                    params![user_id, active],
                )
                .map_err(sq)?;
            if !active {
                t.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])
                    .map_err(sq)?;
            }
            if n == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        })
        .await
    }

    async fn update_user(&self, id: i64, change: &UserChange, actor: Option<i64>) -> Result<User> {
        let change = change.clone();
        self.tx(move |t| {
            let old = t
                .query_row(
                    &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
                    [id],
                    user_row,
                )
                .optional()
                .map_err(sq)?
                .ok_or(StoreError::NotFound)?;
            let new = change.apply(&old);
            let Some(detail) = user_change_detail(&old, &new) else {
                return Ok(old);
            };
            if new.team_id != old.team_id {
                if let Some(team) = new.team_id {
                    let exists = t
                        .query_row("SELECT 1 FROM teams WHERE id = ?1", [team], |_| Ok(()))
                        .optional()
                        .map_err(sq)?
                        .is_some();
                    if !exists {
                        return Err(refuse::no_team(team));
                    }
                }
            }
            let other_admins: i64 = t
                .query_row(
                    "SELECT count(*) FROM users WHERE role = 'admin' AND active = 1 AND id <> ?1",
                    [id],
                    |r| r.get(0),
                )
                .map_err(sq)?;
            if removes_last_admin(&old, &new, other_admins) {
                return Err(refuse::last_admin());
            }
            ensure_region(t, new.region.as_deref())?;
            t.execute(
                "UPDATE users SET role = ?2, team_id = ?3, region = ?4, active = ?5, display_name = ?6 WHERE id = ?1",
                params![id, new.role.as_str(), new.team_id, new.region, new.active, new.display_name],
            )
            .map_err(sq)?;
            if !new.active {
                t.execute("DELETE FROM sessions WHERE user_id = ?1", [id])
                    .map_err(sq)?;
            }
            let mut detail = detail;
            if new.team_id != old.team_id {
                // Team scope follows the owner: their customers move with them.
                let moved = t
                    .execute(
                        "UPDATE customers SET team_id = ?2 WHERE owner_id = ?1",
                        params![id, new.team_id],
                    )
                    .map_err(sq)?;
                detail["customers_moved"] = moved.into();
            }
            audit_row(
                t,
                actor,
                "update",
                "user",
                Some(id),
                &detail,
                &ts(Utc::now()),
            )?;
            Ok(new)
        })
        .await
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let h = token_hash.to_string();
        self.tx(move |t| {
            let now = Utc::now();
            t.execute("DELETE FROM sessions WHERE expires_at < ?1", [ts(now)]).map_err(sq)?;
            t.execute(
                "INSERT INTO sessions (token_hash, user_id, expires_at, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![h, user_id, ts(expires_at), ts(now)],
            )
            .map_err(sq)?;
            Ok(())
        })
        .await
    }

    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        let h = token_hash.to_string();
        self.read(move |c| {
            // Every request with a token asks this: prepared once per connection.
            static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
                format!(
                    "SELECT {} FROM sessions s JOIN users u ON u.id = s.user_id
                     WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.active = 1",
                    USER_COLS
                        .split(", ")
                        .map(|c| format!("u.{c}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
            c.prepare_cached(&SQL)
                .map_err(sq)?
                .query_row(params![h, ts(now)], user_row)
                .optional()
                .map_err(sq)
        })
        .await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let h = token_hash.to_string();
        self.tx(move |t| {
            t.execute("DELETE FROM sessions WHERE token_hash = ?1", [h])
                .map_err(sq)?;
            Ok(())
        })
        .await
    }

    async fn audit(
        &self,
        user_id: Option<i64>,
        action: &str,
        entity: &str,
        entity_id: Option<i64>,
        detail: serde_json::Value,
    ) -> Result<()> {
        let (action, entity) = (action.to_string(), entity.to_string());
        self.tx(move |t| {
            audit_row(
                t,
                user_id,
                &action,
                &entity,
                entity_id,
                &detail,
                &ts(Utc::now()),
            )
        })
        .await
    }

    async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        self.read(move |c| {
            let mut st = c
                .prepare("SELECT id, at, user_id, action, entity, entity_id, detail FROM audit_log ORDER BY id DESC LIMIT ?1")
                .map_err(sq)?;
            let v = rows_of(&mut st, [limit], audit_entry)?;
            Ok(v)
        })
        .await
    }

    async fn audit_page(&self, f: &AuditFilter) -> Result<Page<AuditEntry>> {
        let f = f.clone();
        self.read(move |c| {
            let limit = f.limit.clamp(1, 1000);
            let offset = f.offset.max(0);
            let mut p: Vec<SqlValue> = vec![];
            let w = crate::audit_conditions(&f, &mut p, "");
            let n = crate::list_count_limit(offset, limit);
            let counted: i64 = c
                .prepare_cached(&format!(
                    "SELECT count(*) FROM (SELECT 1 FROM audit_log {w} LIMIT {n})"
                ))
                .map_err(sq)?
                .query_row(params_from_iter(p.iter()), |r| r.get(0))
                .map_err(sq)?;
            let (total, capped) = crate::capped_total(counted, n);
            let mut st = c
                .prepare_cached(&format!(
                    "SELECT id, at, user_id, action, entity, entity_id, detail FROM audit_log {w}
                     ORDER BY id DESC LIMIT {limit} OFFSET {offset}"
                ))
                .map_err(sq)?;
            let items = rows_of(&mut st, params_from_iter(p.iter()), audit_entry)?;
            Ok(Page {
                items,
                total,
                offset,
                limit,
                capped,
            })
        })
        .await
    }
}

pub(super) fn audit_entry(r: &Row) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.get(0)?,
        at: parse_ts(&r.get::<_, String>(1)?)?,
        user_id: r.get(2)?,
        action: r.get(3)?,
        entity: r.get(4)?,
        entity_id: r.get(5)?,
        detail: json_col(&r.get::<_, String>(6)?)?,
    })
}

const USER_COLS: &str = "id, username, display_name, role, team_id, region, active";

fn user_row(r: &Row) -> rusqlite::Result<User> {
    let role: String = r.get(3)?;
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        role: Role::parse(&role).unwrap_or(Role::Agent),
        team_id: r.get(4)?,
        region: r.get(5)?,
        active: r.get(6)?,
    })
}

/// Puts a region a user or team is given on the list of regions when it is
/// not there yet, so every region in use is listed.
fn ensure_region(t: &Connection, region: Option<&str>) -> Result<()> {
    if let Some(r) = region.filter(|r| !r.is_empty()) {
        t.prepare_cached(
            "INSERT INTO regions (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
        )
        .map_err(sq)?
        .execute(params![r, ts(Utc::now())])
        .map_err(sq)?;
    }
    Ok(())
}

const REGION_SELECT: &str = "SELECT r.id, r.name,
        (SELECT count(*) FROM users u WHERE u.region = r.name),
        (SELECT count(*) FROM teams t WHERE t.region = r.name)
     FROM regions r";

fn region_row(r: &Row) -> rusqlite::Result<Region> {
    Ok(Region {
        id: r.get(0)?,
        name: r.get(1)?,
        users: r.get(2)?,
        teams: r.get(3)?,
    })
}

/// A team name another team has: refused, not a database failure.
fn team_name_taken(e: rusqlite::Error, name: &str) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            refuse::team_exists(name)
        }
        e => sq(e),
    }
}
