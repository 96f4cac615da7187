//! Roles, permissions and scopes (SPEC §9).
//!
//! Create, read, update and delete are separate permissions, and each grant
//! has a scope: own, team, region or all. The server asks [`Grants::scope`]
//! for the caller's scope and [`Scope::covers`] for every row it touches.

use crate::user::User;

labeled_enum!(Role {
    Admin = "admin", "管理员";
    Director = "director", "总监";
    Supervisor = "supervisor", "主管";
    Manager = "manager", "客户经理";
    Finance = "finance", "财务";
    Agent = "agent", "客服";
});

labeled_enum!(Action {
    Create = "create", "新建";
    Read = "read", "查看";
    Update = "update", "修改";
    Delete = "delete", "删除";
});

labeled_enum!(Resource {
    Customer = "customer", "客户";
    Contact = "contact", "联系人";
    Activity = "activity", "活动";
    Order = "order", "订单";
    User = "user", "用户";
    Audit = "audit", "审计";
    Target = "target", "目标";
    Performance = "performance", "业绩";
    Pay = "pay", "薪酬";
});

labeled_enum!(Scope {
    Own = "own", "本人";
    Team = "team", "本团队";
    Region = "region", "本区域";
    All = "all", "全部";
});

/// The owner, team and region of a row, as far as permissions care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowOwner<'a> {
    /// `None`: the row is in the public pool (公海).
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
    pub region: Option<&'a str>,
}

impl Scope {
    /// Whether a user with this scope may touch a row with this owner.
    ///
    /// A pool customer (no owner) is visible to every scope: any manager may
    /// look at the pool and claim from it (SPEC §1). Changing it needs a claim.
    pub fn covers(self, user: &User, row: RowOwner<'_>) -> bool {
        match self {
            Scope::All => true,
            Scope::Own => row.owner_id.is_none_or(|o| o == user.id),
            Scope::Team => {
                row.owner_id.is_none()
                    || row.owner_id == Some(user.id)
                    || (user.team_id.is_some() && row.team_id == user.team_id)
            }
            Scope::Region => {
                row.owner_id.is_none()
                    || row.owner_id == Some(user.id)
                    || (user.region.is_some() && row.region == user.region.as_deref())
            }
        }
    }
}

/// The permission matrix: for each role, resource and action, the scope
/// granted (or none). The default follows SPEC §9; a deployment may change it.
#[derive(Debug, Clone)]
pub struct Grants {
    table: Vec<(Role, Resource, Action, Scope)>,
}

impl Default for Grants {
    fn default() -> Self {
        use Action::*;
        use Resource::*;
        use Role::*;
        use Scope::*;
        let mut t = vec![];
        let mut grant = |role, resources: &[Resource], actions: &[Action], scope| {
            for r in resources {
                for a in actions {
                    t.push((role, *r, *a, scope));
                }
            }
        };
        let archive = [Resource::Customer, Contact, Activity, Order];
        let crud = [Create, Read, Update, Delete];
        grant(
            Admin,
            &[
                Resource::Customer,
                Contact,
                Activity,
                Order,
                Resource::User,
                Audit,
                Target,
                Performance,
                Pay,
            ],
            &crud,
            All,
        );
        // Directors see all data (SPEC §9); deleting is an administrator's act.
        grant(Director, &archive, &[Create, Read, Update], All);
        grant(Director, &[Resource::User, Audit], &[Read], All);
        // Directors set targets for everyone and read every figure and pay.
        grant(Director, &[Target], &[Create, Read, Update], All);
        grant(Director, &[Performance, Pay], &[Read], All);
        // Supervisors manage their team's customers, hand them over, remove them.
        grant(Supervisor, &archive, &crud, Team);
        grant(Supervisor, &[Resource::User], &[Read], Team);
        // Supervisors split their team's targets, score and review its pay.
        grant(Supervisor, &[Target], &[Create, Read, Update], Team);
        grant(Supervisor, &[Performance], &[Read], Team);
        grant(Supervisor, &[Pay], &[Read, Update], Team);
        // Customer managers work their own customers and the pool.
        grant(Manager, &archive, &[Create, Read, Update], Own);
        grant(Manager, &[Resource::User], &[Read], Own);
        // Customer managers see their own targets, figures and pay slip.
        grant(Manager, &[Target, Performance, Pay], &[Read], Own);
        // Finance reads every customer and keeps orders and payments.
        grant(
            Finance,
            &[Resource::Customer, Contact, Activity],
            &[Read],
            All,
        );
        grant(Finance, &[Order], &crud, All);
        // Finance reads every figure and runs, approves and locks pay.
        grant(Finance, &[Target, Performance], &[Read], All);
        grant(Finance, &[Pay], &crud, All);
        // Service agents read customers and record what happened.
        grant(Agent, &[Resource::Customer, Contact, Order], &[Read], All);
        grant(Agent, &[Activity], &[Create, Read], All);
        Grants { table: t }
    }
}

impl Grants {
    pub fn scope(&self, role: Role, resource: Resource, action: Action) -> Option<Scope> {
        self.table
            .iter()
            .find(|(r, res, a, _)| *r == role && *res == resource && *a == action)
            .map(|t| t.3)
    }

    /// Every grant, as `(role, resource, action, scope)`: the table
    /// [`Grants::scope`] and [`Grants::allows`] decide from, for showing it
    /// (`GET /api/v1/roles`). A combination not listed is not granted.
    pub fn entries(&self) -> impl Iterator<Item = (Role, Resource, Action, Scope)> + '_ {
        Role::ALL.iter().flat_map(move |&role| {
            Resource::ALL.iter().flat_map(move |&resource| {
                Action::ALL.iter().filter_map(move |&action| {
                    self.scope(role, resource, action)
                        .map(|s| (role, resource, action, s))
                })
            })
        })
    }

    /// Whether `user` may do `action` on `resource` for a row with `row` owner.
    pub fn allows(
        &self,
        user: &User,
        resource: Resource,
        action: Action,
        row: RowOwner<'_>,
    ) -> bool {
        user.active
            && self.scope(user.role, resource, action).is_some_and(|s| {
                // Anyone may look at the pool; changing a pool customer takes
                // a claim first, unless one's scope is wider than one's own.
                let pool_change =
                    row.owner_id.is_none() && action != Action::Read && s == Scope::Own;
                s.covers(user, row) && !pool_change
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, role: Role, team: Option<i64>) -> User {
        User {
            id,
            username: format!("u{id}"),
            display_name: String::new(),
            role,
            team_id: team,
            region: Some("江苏".into()),
            active: true,
        }
    }

    #[test]
    fn managers_see_their_own_and_the_pool_only() {
        let g = Grants::default();
        let m = user(1, Role::Manager, Some(10));
        let own = RowOwner {
            owner_id: Some(1),
            team_id: Some(10),
            region: None,
        };
        let colleague = RowOwner {
            owner_id: Some(2),
            team_id: Some(10),
            region: None,
        };
        let pool = RowOwner {
            owner_id: None,
            team_id: None,
            region: None,
        };
        assert!(g.allows(&m, Resource::Customer, Action::Read, own));
        assert!(!g.allows(&m, Resource::Customer, Action::Read, colleague));
        assert!(g.allows(&m, Resource::Customer, Action::Read, pool));
        assert!(!g.allows(&m, Resource::Customer, Action::Delete, own));
        assert!(
            !g.allows(&m, Resource::Customer, Action::Update, pool),
            "claim before you edit"
        );
    }

    #[test]
    fn supervisors_cover_their_team() {
        let g = Grants::default();
        let s = user(5, Role::Supervisor, Some(10));
        assert!(g.allows(
            &s,
            Resource::Customer,
            Action::Delete,
            RowOwner {
                owner_id: Some(2),
                team_id: Some(10),
                region: None
            }
        ));
        assert!(!g.allows(
            &s,
            Resource::Customer,
            Action::Read,
            RowOwner {
                owner_id: Some(3),
                team_id: Some(11),
                region: None
            }
        ));
    }

    #[test]
    fn entries_are_what_scope_answers() {
        let g = Grants::default();
        let all: Vec<_> = g.entries().collect();
        assert!(all.contains(&(Role::Manager, Resource::Customer, Action::Read, Scope::Own)));
        assert!(!all
            .iter()
            .any(|e| e.0 == Role::Manager && e.2 == Action::Delete));
        for (role, res, act, scope) in all {
            assert_eq!(g.scope(role, res, act), Some(scope));
        }
    }

    #[test]
    fn inactive_users_can_do_nothing() {
        let mut a = user(1, Role::Admin, None);
        a.active = false;
        assert!(!Grants::default().allows(
            &a,
            Resource::Customer,
            Action::Read,
            RowOwner {
                owner_id: None,
                team_id: None,
                region: None
            }
        ));
    }
}
