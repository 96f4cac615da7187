//! Regions, teams, users, sessions and the audit log (SPEC §9).

use super::*;

#[async_trait]
impl PeopleStore for PgStore {
    async fn regions(&self) -> Result<Vec<Region>> {
        let c = self.client().await?;
        query(&c, &format!("{REGION_SELECT} ORDER BY r.id"), &[])
            .await?
            .iter()
            .map(region_row)
            .collect()
    }

    async fn create_region(&self, name: &str, actor: Option<i64>) -> Result<Region> {
        in_tx!(self, |t| {
            let made = query_opt(
                &t,
                "INSERT INTO regions (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id",
                &[&name],
            )
            .await?;
            let Some(made) = made else {
                let row = query_one(&t, "SELECT id FROM regions WHERE name = $1", &[&name]).await?;
                return Err(StoreError::Duplicate(vec![get(&row, 0)?]));
            };
            let id: i64 = get(&made, 0)?;
            audit_row(
                &t,
                actor,
                "create",
                "region",
                Some(id),
                &serde_json::json!({"name": name}),
                Utc::now(),
            )
            .await?;
            region_row(&query_one(&t, &format!("{REGION_SELECT} WHERE r.id = $1"), &[&id]).await?)
        })
    }

    async fn delete_region(&self, id: i64, actor: Option<i64>) -> Result<()> {
        in_tx!(self, |t| {
            // Locked first: a user or team being given the region meanwhile
            // (which locks it too) commits before the count below.
            if query_opt(&t, "SELECT 1 FROM regions WHERE id = $1 FOR UPDATE", &[&id])
                .await?
                .is_none()
            {
                return Err(StoreError::NotFound);
            }
            let r = region_row(
                &query_one(&t, &format!("{REGION_SELECT} WHERE r.id = $1"), &[&id]).await?,
            )?;
            if r.users > 0 || r.teams > 0 {
                return Err(refuse::region_in_use(&r.name, r.users, r.teams));
            }
            execute(&t, "DELETE FROM regions WHERE id = $1", &[&id]).await?;
            audit_row(
                &t,
                actor,
                "delete",
                "region",
                Some(id),
                &serde_json::json!({"name": r.name}),
                Utc::now(),
            )
            .await
        })
    }

    async fn update_team(&self, id: i64, change: &TeamChange, actor: Option<i64>) -> Result<Team> {
        in_tx!(self, |t| {
            let row = query_opt(
                &t,
                "SELECT id, name, region FROM teams WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
            let old = Team {
                id: get(&row, 0)?,
                name: get(&row, 1)?,
                region: get(&row, 2)?,
            };
            let new = change.apply(&old);
            let Some(detail) = team_change_detail(&old, &new) else {
                return Ok(old);
            };
            ensure_region(&t, new.region.as_deref()).await?;
            execute(
                &t,
                "UPDATE teams SET name = $2, region = $3 WHERE id = $1",
                &[&id, &new.name, &new.region],
            )
            .await
            .map_err(|e| team_name_taken(e, &new.name))?;
            audit_row(&t, actor, "update", "team", Some(id), &detail, Utc::now()).await?;
            Ok(new)
        })
    }

    async fn create_team(&self, name: &str, region: Option<&str>) -> Result<Team> {
        in_tx!(self, |t| {
            ensure_region(&t, region).await?;
            let row = query_one(
                &t,
                "INSERT INTO teams (name, region) VALUES ($1, $2) RETURNING id",
                &[&name, &region],
            )
            .await
            .map_err(|e| team_name_taken(e, name))?;
            Ok(Team {
                id: get(&row, 0)?,
                name: name.to_string(),
                region: region.map(str::to_string),
            })
        })
    }

    async fn teams(&self) -> Result<Vec<Team>> {
        let c = self.client().await?;
        query(&c, "SELECT id, name, region FROM teams ORDER BY id", &[])
            .await?
            .iter()
            .map(|r| {
                Ok(Team {
                    id: get(r, 0)?,
                    name: get(r, 1)?,
                    region: get(r, 2)?,
                })
            })
            .collect()
    }

    async fn create_user(&self, u: &NewUser) -> Result<User> {
        in_tx!(self, |t| {
            let now = Utc::now();
            ensure_region(&t, u.region.as_deref()).await?;
            let row = query_one(
                &t,
                &format!(
                    "INSERT INTO users (username, display_name, role, team_id, region, password_hash, active, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7) RETURNING {USER_COLS}"
                ),
                &[&u.username, &u.display_name, &u.role.as_str(), &u.team_id, &u.region, &u.password_hash, &now],
            )
            .await
            .map_err(|e| match &e {
                StoreError::Db(m) if m.starts_with(SqlState::UNIQUE_VIOLATION.code()) => {
                    refuse::user_exists(&u.username)
                }
                StoreError::Db(m) if m.starts_with(SqlState::FOREIGN_KEY_VIOLATION.code()) => {
                    refuse::no_team(u.team_id.unwrap_or_default())
                }
                _ => e,
            })?;
            user_row(&row)
        })
    }

    async fn user(&self, id: i64) -> Result<Option<User>> {
        let c = self.client().await?;
        query_opt(
            &c,
            &format!("SELECT {USER_COLS} FROM users WHERE id = $1"),
            &[&id],
        )
        .await?
        .map(|r| user_row(&r))
        .transpose()
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<(User, String)>> {
        let c = self.client().await?;
        query_opt(
            &c,
            &format!("SELECT {USER_COLS}, password_hash FROM users WHERE username = $1"),
            &[&username],
        )
        .await?
        .map(|r| Ok((user_row(&r)?, get(&r, 7)?)))
        .transpose()
    }

    async fn users(&self) -> Result<Vec<User>> {
        let c = self.client().await?;
        query(
            &c,
            &format!("SELECT {USER_COLS} FROM users ORDER BY id"),
            &[],
        )
        .await?
        .iter()
        .map(user_row)
        .collect()
    }

    async fn user_starts(&self) -> Result<HashMap<i64, DateTime<Utc>>> {
        let c = self.client().await?;
        query(&c, "SELECT id, created_at FROM users", &[])
            .await?
            .iter()
            .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
            .collect()
    }

    async fn set_user_since(&self, user_id: i64, since: DateTime<Utc>) -> Result<()> {
        let c = self.client().await?;
        match execute(
            &c,
            "UPDATE users SET created_at = $2 WHERE id = $1",
            &[&user_id, &since],
        )
        .await?
        {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    async fn set_password(&self, user_id: i64, hash: &str) -> Result<()> {
        in_tx!(self, |t| {
            let n = execute(
                &t,
                "UPDATE users SET password_hash = $2 WHERE id = $1",
                &[&user_id, &hash],
            )
            .await?;
            // A new password ends every session of the old one.
            execute(&t, "DELETE FROM sessions WHERE user_id = $1", &[&user_id]).await?;
            if n == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        })
    }

    async fn change_password(
        &self,
        user_id: i64,
        hash: &str,
        keep: Option<&str>,
        action: &str,
        actor: Option<i64>,
    ) -> Result<()> {
        in_tx!(self, |t| {
            let n = execute(
                &t,
                "UPDATE users SET password_hash = $2 WHERE id = $1",
                &[&user_id, &hash],
            )
            .await?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            let ended = execute(
                &t,
                "DELETE FROM sessions WHERE user_id = $1 AND token_hash IS DISTINCT FROM $2",
                &[&user_id, &keep],
            )
            .await?;
            audit_row(
                &t,
                actor,
                action,
                "user",
                Some(user_id),
                &serde_json::json!({"sessions_ended": ended}),
                Utc::now(),
            )
            .await
        })
    }

    async fn set_user_active(&self, user_id: i64, active: bool) -> Result<()> {
        in_tx!(self, |t| {
            let n = execute(
                &t,
                "UPDATE users SET active = $2 WHERE id = $1",
                &[&user_id, &active],
            )
            .await?;
            if !active {
                execute(&t, "DELETE FROM sessions WHERE user_id = $1", &[&user_id]).await?;
            }
            if n == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        })
    }

    async fn update_user(&self, id: i64, change: &UserChange, actor: Option<i64>) -> Result<User> {
        in_tx!(self, |t| {
            // The active administrators first, always in id order, so that two
            // administrators demoting themselves at once cannot both succeed:
            // the second waits here and then sees the first one gone.
            let admins: Vec<i64> = query(
                &t,
                "SELECT id FROM users WHERE role = 'admin' AND active ORDER BY id FOR UPDATE",
                &[],
            )
            .await?
            .iter()
            .map(|r| get(r, 0))
            .collect::<Result<_>>()?;
            let old = query_opt(
                &t,
                &format!("SELECT {USER_COLS} FROM users WHERE id = $1 FOR UPDATE"),
                &[&id],
            )
            .await?
            .map(|r| user_row(&r))
            .transpose()?
            .ok_or(StoreError::NotFound)?;
            let new = change.apply(&old);
            let Some(mut detail) = user_change_detail(&old, &new) else {
                return Ok(old);
            };
            if new.team_id != old.team_id {
                if let Some(team) = new.team_id {
                    // FOR SHARE: the team cannot go while this commits.
                    if query_opt(&t, "SELECT 1 FROM teams WHERE id = $1 FOR SHARE", &[&team])
                        .await?
                        .is_none()
                    {
                        return Err(refuse::no_team(team));
                    }
                }
            }
            let other_admins = admins.iter().filter(|a| **a != id).count() as i64;
            if removes_last_admin(&old, &new, other_admins) {
                return Err(refuse::last_admin());
            }
            ensure_region(&t, new.region.as_deref()).await?;
            execute(
                &t,
                "UPDATE users SET role = $2, team_id = $3, region = $4, active = $5, display_name = $6 WHERE id = $1",
                &[
                    &id,
                    &new.role.as_str(),
                    &new.team_id,
                    &new.region,
                    &new.active,
                    &new.display_name,
                ],
            )
            .await?;
            if !new.active {
                execute(&t, "DELETE FROM sessions WHERE user_id = $1", &[&id]).await?;
            }
            if new.team_id != old.team_id {
                // Team scope follows the owner: their customers move with them.
                let moved = execute(
                    &t,
                    "UPDATE customers SET team_id = $2 WHERE owner_id = $1",
                    &[&id, &new.team_id],
                )
                .await?;
                detail["customers_moved"] = moved.into();
            }
            audit_row(&t, actor, "update", "user", Some(id), &detail, Utc::now()).await?;
            Ok(new)
        })
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(self, |t| {
            let now = Utc::now();
            execute(&t, "DELETE FROM sessions WHERE expires_at < $1", &[&now]).await?;
            execute(
                &t,
                "INSERT INTO sessions (token_hash, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
                &[&token_hash, &user_id, &expires_at, &now],
            )
            .await?;
            Ok(())
        })
    }

    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        let c = self.client().await?;
        let cols = USER_COLS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        query_opt(
            &c,
            &format!(
                "SELECT {cols} FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active"
            ),
            &[&token_hash, &now],
        )
        .await?
        .map(|r| user_row(&r))
        .transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let c = self.client().await?;
        execute(
            &c,
            "DELETE FROM sessions WHERE token_hash = $1",
            &[&token_hash],
        )
        .await?;
        Ok(())
    }

    async fn audit(
        &self,
        user_id: Option<i64>,
        action: &str,
        entity: &str,
        entity_id: Option<i64>,
        detail: serde_json::Value,
    ) -> Result<()> {
        let c = self.client().await?;
        audit_row(&c, user_id, action, entity, entity_id, &detail, Utc::now()).await
    }

    async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        let c = self.client().await?;
        query(
            &c,
            "SELECT id, at, user_id, action, entity, entity_id, detail FROM audit_log ORDER BY id DESC LIMIT $1",
            &[&limit],
        )
        .await?
        .iter()
        .map(audit_entry)
        .collect()
    }

    async fn audit_page(&self, f: &AuditFilter) -> Result<Page<AuditEntry>> {
        let c = self.client().await?;
        let limit = f.limit.clamp(1, 1000);
        let offset = f.offset.max(0);
        let mut p = Params::default();
        let w = crate::audit_conditions(f, &mut p, "::text::timestamptz");
        let n = crate::list_count_limit(offset, limit);
        let counted: i64 = get(
            &query_one(
                &c,
                &format!("SELECT count(*) FROM (SELECT 1 FROM audit_log {w} LIMIT {n}) x"),
                &p.refs(),
            )
            .await?,
            0,
        )?;
        let (total, capped) = crate::capped_total(counted, n);
        let items = query(
            &c,
            &format!(
                "SELECT id, at, user_id, action, entity, entity_id, detail FROM audit_log {w}
                 ORDER BY id DESC LIMIT {limit} OFFSET {offset}"
            ),
            &p.refs(),
        )
        .await?
        .iter()
        .map(audit_entry)
        .collect::<Result<Vec<_>>>()?;
        Ok(Page {
            items,
            total,
            offset,
            limit,
            capped,
        })
    }
}

pub(super) fn audit_entry(r: &Row) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: get(r, 0)?,
        at: get(r, 1)?,
        user_id: get(r, 2)?,
        action: get(r, 3)?,
        entity: get(r, 4)?,
        entity_id: get(r, 5)?,
        detail: get(r, 6)?,
    })
}

const USER_COLS: &str = "id, username, display_name, role, team_id, region, active";

fn user_row(r: &Row) -> Result<User> {
    let role: String = get(r, 3)?;
    Ok(User {
        id: get(r, 0)?,
        username: get(r, 1)?,
        display_name: get(r, 2)?,
        role: Role::parse(&role).unwrap_or(Role::Agent),
        team_id: get(r, 4)?,
        region: get(r, 5)?,
        active: get(r, 6)?,
    })
}

/// Puts a region a user or team is given on the list of regions when it is
/// not there yet, so every region in use is listed. The row stays locked
/// until the commit, so a removal of the region waits and then sees it used.
async fn ensure_region<C: GenericClient>(t: &C, region: Option<&str>) -> Result<()> {
    if let Some(r) = region.filter(|r| !r.is_empty()) {
        execute(
            t,
            "INSERT INTO regions (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name",
            &[&r],
        )
        .await?;
    }
    Ok(())
}

const REGION_SELECT: &str = "SELECT r.id, r.name,
        (SELECT count(*) FROM users u WHERE u.region = r.name),
        (SELECT count(*) FROM teams t WHERE t.region = r.name)
     FROM regions r";

fn region_row(r: &Row) -> Result<Region> {
    Ok(Region {
        id: get(r, 0)?,
        name: get(r, 1)?,
        users: get(r, 2)?,
        teams: get(r, 3)?,
    })
}

/// A team name another team has: refused, not a database failure.
fn team_name_taken(e: StoreError, name: &str) -> StoreError {
    if is_unique_violation(&e) {
        refuse::team_exists(name)
    } else {
        e
    }
}
