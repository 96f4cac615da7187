// What the signed-in user may do, from the permission matrix the server
// enforces (GET /roles): a button is shown only when its call would be
// allowed. The rules are those of keqing-domain's access.rs (Scope::covers,
// Grants::allows); the server still checks every row.

/** The grants of `role` as a Map "resource.action" → scope (own, team, region, all). */
export function grantsOf(matrix, role) {
  const m = new Map();
  for (const g of matrix?.grants || []) if (g.role === role) m.set(`${g.resource}.${g.action}`, g.scope);
  return m;
}

/**
 * Whether `user` may do `action` on `resource`; with `row` (a customer:
 * owner_id, team_id, province), on that row. A pool customer (no owner) is
 * visible to every scope; changing it takes a claim first unless the scope
 * is wider than one's own.
 */
export function allows(grants, user, resource, action, row) {
  if (!user || user.active === false) return false;
  const scope = grants.get(`${resource}.${action}`);
  if (!scope) return false;
  if (!row) return true;
  const owner = row.owner_id ?? null;
  if (owner === null && action !== 'read' && scope === 'own') return false;
  switch (scope) {
    case 'all': return true;
    case 'own': return owner === null || owner === user.id;
    case 'team': return owner === null || owner === user.id || (user.team_id != null && row.team_id === user.team_id);
    case 'region': return owner === null || owner === user.id || (!!user.region && row.province === user.region);
    default: return false;
  }
}
