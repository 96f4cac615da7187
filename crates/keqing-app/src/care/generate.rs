//! [`generate`]: plans a range's care tasks in batches of customers and stores the new ones.

use super::{
    anniversary_key, beijing, birthday_of, cadence_customers, care_activities, care_kind,
    check_range, day_start, days, key_date_of, local_date, order_weekdays, rule_task_text,
    sales_activities, CareSettings, GenerateError, GenerateReport, DEFAULT_TEMPLATE,
};
use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc, Weekday};
use keqing_care::anniversary::Anniversary;
use keqing_care::cadence::{self};
use keqing_care::cap::{self, CapDecision, CustomerContact, FrequencyCap, PlannedContact};
use keqing_care::greeting::{
    self, GreetingContact, GreetingCustomer, GreetingReason, GreetingTask, KeyDate,
};
use keqing_care::order_day::{self, OrderDayCustomer};
use keqing_care::quota::{self};
use keqing_care::task::{CareTask, TaskKey, TaskKind};
use keqing_care::template::Template;
use keqing_care::{Calendar, CareError};
use keqing_domain::{Role, User};
use keqing_store::{
    CareCustomerQuery, CareRoster, CareTaskBatch, CareTaskContact, CareTaskContacts, NewCareTask,
    Store, StoreError,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The template for a greeting: an active one for one of its occasions,
/// else an active general one, else [`DEFAULT_TEMPLATE`].
struct Templates {
    by_occasion: HashMap<String, Template>,
    general: Template,
}

impl Templates {
    async fn load(store: &dyn Store) -> Result<Templates, GenerateError> {
        let mut by_occasion = HashMap::new();
        let mut general = None;
        for t in store
            .care_templates()
            .await?
            .into_iter()
            .filter(|t| t.active)
        {
            // Templates are checked when saved; one that no longer parses is skipped.
            let Ok(parsed) = Template::parse(&t.body) else {
                continue;
            };
            match t.occasion {
                Some(o) => {
                    by_occasion.entry(o).or_insert(parsed);
                }
                None => {
                    general.get_or_insert(parsed);
                }
            }
        }
        let general = match general {
            Some(g) => g,
            None => Template::parse(DEFAULT_TEMPLATE).map_err(CareError::from)?,
        };
        Ok(Templates {
            by_occasion,
            general,
        })
    }

    fn for_task(&self, t: &GreetingTask) -> &Template {
        use keqing_care::greeting::GreetingReason as R;
        t.reasons
            .iter()
            .find_map(|r| {
                let id = match r {
                    R::Occasion { occasion, .. } => occasion.as_ref(),
                    R::Birthday { .. } => "birthday",
                    R::KeyDate { .. } => "key_date",
                };
                self.by_occasion.get(id)
            })
            .unwrap_or(&self.general)
    }
}

/// Plans the care tasks of `from..=to` (Beijing dates) and stores the new
/// ones: greetings (one per contact per day, all the day's occasions in
/// it), cadence tasks for customers behind their standard, order-day
/// reminders (when `now` is past the cut-off on an order day), deadline
/// tasks for change reports open past 15 days, and each manager's daily
/// quota; the frequency cap is applied across them. Customers in the pool
/// get no tasks. Idempotent: a re-run stores nothing new.
pub async fn generate(
    store: &dyn Store,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<GenerateReport, GenerateError> {
    generate_with_progress(store, from, to, now, &|_, _| {}).await
}

/// [`generate`] telling `progress` the customers planned: of those greeted
/// (on a calendar occasion every customer the database holds, an upper
/// bound: the pool's and deleted ones get no tasks).
pub async fn generate_with_progress(
    store: &dyn Store,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<GenerateReport, GenerateError> {
    check_range(from, to)?;
    let settings = CareSettings::load(store).await?;
    let calendar = Calendar::new(&settings.occasions)?;
    let templates = Templates::load(store).await?;
    let users: HashMap<i64, User> = store
        .users()
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let has_occasions = !calendar.occasions(from, to)?.is_empty();

    // The contacts whose birthday falls in the range, by key through an
    // index; and the customers under a rule of their own (cadence class,
    // key dates, order days), with those and the ones with open changes.
    let mut birthday_keys = vec![];
    for (date, lunar) in keqing_care::lunar::lunar_days(from, to)? {
        birthday_keys.extend(
            keqing_care::anniversary::keys_on(date, lunar)?
                .into_iter()
                .map(anniversary_key),
        );
    }
    birthday_keys.sort_unstable();
    birthday_keys.dedup();
    // Activities: from the start of the longest period any rule looks back
    // over (a cadence quarter or year, the cap's window) to the end of `to`.
    let period = u64::from(settings.frequency_cap.period_days);
    let mut since = from - Days::new(period);
    // The last day a planned task can be moved to (a cadence line's period end).
    let mut latest = to;
    for s in &settings.cadence_standards {
        for r in &s.requirements {
            since = since.min(r.per.bounds(from).0);
            latest = latest.max(r.per.bounds(to).1);
        }
    }
    // The reads are independent: run them side by side.
    let people = async {
        let (birthday_facts, open_changes) = tokio::try_join!(
            store.care_contacts(Some(&birthday_keys), &[]),
            store.open_changes(None)
        )?;
        let mut ids: Vec<i64> = birthday_facts.iter().map(|p| p.customer_id).collect();
        ids.extend(open_changes.iter().map(|c| c.customer_id));
        let customers = store
            .care_customers(&CareCustomerQuery { all: false, ids })
            .await?;
        Ok::<_, StoreError>((birthday_facts, open_changes, customers))
    };
    let ((birthday_facts, open_changes, customers), activities, stored) = tokio::try_join!(
        people,
        store.activity_facts(
            day_start(since),
            day_start(to + Days::new(1)),
            day_start(from)
        ),
        store.care_task_contacts(
            from - Days::new(period),
            latest + Days::new(period),
            (from, to)
        ),
    )?;
    let mut birthdays: Vec<(i64, Anniversary)> = birthday_facts
        .iter()
        .filter_map(|p| Some((p.id, birthday_of(p.birthday?)?)))
        .collect();
    birthdays.sort_unstable_by_key(|b| b.0);
    let mut key_dates: Vec<(i64, Vec<KeyDate>)> = customers
        .iter()
        .filter(|c| !c.key_dates.is_empty())
        .map(|c| (c.id, c.key_dates.iter().filter_map(key_date_of).collect()))
        .collect();
    key_dates.sort_unstable_by_key(|k| k.0);
    let owner_of: HashMap<i64, i64> = customers.iter().map(|c| (c.id, c.owner_id)).collect();

    let mut rule_tasks: Vec<CareTask> = vec![];

    // Cadence: one report per day of the range; a line that stays behind
    // keeps one key, so the days add nothing twice.
    let cadence_customers = cadence_customers(&customers, &settings.cadence_standards);
    if !cadence_customers.is_empty() {
        let care_acts = care_activities(&activities);
        for day in days(from, to) {
            let report = cadence::cadence_report(
                &settings.cadence_standards,
                &cadence_customers,
                &care_acts,
                day,
            )?;
            rule_tasks.extend(cadence::cadence_tasks(&report, 0));
        }
    }

    // Order day (003 A14): only for the day `now` is in, once past 14:30.
    let today = local_date(now);
    if (from..=to).contains(&today) {
        let with_days: Vec<(i64, Vec<Weekday>)> = customers
            .iter()
            .filter_map(|c| {
                let w = order_weekdays(c.order_weekdays.as_ref()?);
                (!w.is_empty()).then_some((c.id, w))
            })
            .collect();
        if !with_days.is_empty() {
            let mut last: HashMap<i64, NaiveDate> = HashMap::new();
            for o in store.order_facts().await? {
                let e = last.entry(o.customer_id).or_insert(o.date);
                *e = (*e).max(o.date);
            }
            let input: Vec<OrderDayCustomer> = with_days
                .into_iter()
                .map(|(id, w)| OrderDayCustomer {
                    customer_id: id,
                    order_weekdays: w,
                    last_order_at: last.get(&id).map(|d| d.and_time(NaiveTime::MIN)),
                })
                .collect();
            let local_now = now.with_timezone(&beijing()).naive_local();
            rule_tasks.extend(order_day::order_day_reminders(
                local_now,
                order_day::default_cutoff(),
                &input,
            ));
        }
    }

    // Deadline (000: register a change within 15 days): as of the range's end.
    let changes: Vec<keqing_care::deadline::DataChange> = open_changes
        .into_iter()
        .filter(|c| owner_of.contains_key(&c.customer_id))
        .map(|c| keqing_care::deadline::DataChange {
            change_id: c.id,
            customer_id: c.customer_id,
            reported_on: c.reported_on,
            registered_on: c.registered_on,
        })
        .collect();
    rule_tasks.extend(keqing_care::deadline::overdue_change_tasks(
        to.min(today.max(from)),
        &changes,
    ));
    rule_tasks.sort_by_key(|t| (t.key.customer_id, t.key));

    // Daily quota (001 篇7) of every active customer manager, working days.
    let sales = sales_activities(&activities, from);
    let mut managers: Vec<i64> = users
        .values()
        .filter(|u| u.active && u.role == Role::Manager)
        .map(|u| u.id)
        .collect();
    managers.sort_unstable();
    let mut quota_tasks = vec![];
    for day in days(from, to) {
        for &m in &managers {
            let p = quota::quota_progress(
                &settings.daily_quota,
                m,
                day,
                quota::is_weekday(day),
                &sales,
            );
            quota_tasks.extend(p.task());
        }
    }

    // What the frequency cap counts besides the planned tasks: contacts
    // made (logged activities) and the open tasks already stored around
    // the range, by customer: the greetings of other days (which this run
    // cannot plan again) as the days they contact a customer, the others
    // as tasks, whose keys this run may plan again.
    let CareTaskContacts {
        tasks: mut stored,
        days: stored_days,
    } = stored;
    let mut made: Vec<CustomerContact> = activities
        .iter()
        .filter(|a| care_kind(a.kind).is_some())
        .map(|a| CustomerContact {
            customer_id: a.customer_id,
            date: local_date(a.at),
        })
        .chain(
            stored_days
                .into_iter()
                .map(|(customer_id, date)| CustomerContact { customer_id, date }),
        )
        .collect();
    made.sort_unstable_by_key(|c| c.customer_id);
    drop(activities);
    // In place: on a festival's re-run these are millions of rows.
    stored.retain(|t| task_kind(t.kind).is_some_and(|k| k.contacts_customer()));
    stored.sort_unstable_by_key(|t| t.customer_id);

    // Whom the greetings are for: on a calendar occasion every owned
    // customer and contact (ids only, from the store's indexes, a page at a
    // time inside the loop below); otherwise the customers read above and
    // the contacts with a birthday, plus all contacts of customers with a
    // key date in the range.
    let mut roster = if has_occasions {
        RosterPages::Read { after: 0 }
    } else {
        {
            let mut contacts: Vec<(i64, i64)> = birthday_facts
                .iter()
                .map(|p| (p.id, p.customer_id))
                .collect();
            let with_date: Vec<i64> = customers
                .iter()
                .filter(|c| {
                    key_dates
                        .binary_search_by_key(&c.id, |k| k.0)
                        .is_ok_and(|i| {
                            key_dates[i].1.iter().any(|k| {
                                birthday_keys
                                    .binary_search(&anniversary_key(k.date.key()))
                                    .is_ok()
                            })
                        })
                })
                .map(|c| c.id)
                .collect();
            if !with_date.is_empty() {
                contacts.extend(
                    store
                        .care_contacts(Some(&[]), &with_date)
                        .await?
                        .iter()
                        .map(|p| (p.id, p.customer_id)),
                );
            }
            // A customer released to the pool between the reads: no task.
            contacts.retain(|p| owner_of.contains_key(&p.1));
            contacts.sort_unstable_by_key(|&(id, customer)| (customer, id));
            contacts.dedup();
            RosterPages::Listed {
                roster: CareRoster {
                    customers: customers.iter().map(|c| (c.id, c.owner_id)).collect(),
                    contacts,
                },
                next: 0,
            }
        }
    };
    drop(birthday_facts);

    // Customers in batches: plan a batch's greetings, apply the cap to them
    // and the batch's rule tasks, and store the greetings while the next
    // batch is planned. Memory holds one batch of tasks, not the day's.
    let plan = Planning {
        calendar: &calendar,
        templates: &templates,
        from,
        to,
        cap: settings.frequency_cap,
        key_dates: &key_dates,
        birthdays: &birthdays,
    };
    let mut report = GenerateReport {
        from,
        to,
        ..Default::default()
    };
    let (mut greetings_planned, mut greetings_created) = (0u64, 0u64);
    let mut decided_rules: Vec<(CareTask, NaiveDate)> = vec![];
    let mut inflight: Option<CareTaskBatch> = None;
    // Three things at once: the store stores the greetings of batch k - 1
    // and reads the customers of batch k + 1 (each on a thread or a
    // connection of its own) while batch k is planned here. On a re-run
    // nothing is stored, and the reads alone are still overlapped.
    let total = match &roster {
        RosterPages::Listed { roster, .. } => roster.customers.len() as u64,
        RosterPages::Read { .. } => store
            .table_counts()
            .await?
            .iter()
            .find(|(t, _)| t == "customers")
            .map(|(_, n)| (*n).max(0) as u64)
            .unwrap_or(0),
    };
    let mut planned_customers = 0u64;
    progress(0, total);
    let mut page = roster.next(store).await?;
    while page.is_some() || inflight.is_some() {
        if let Some(p) = &page {
            planned_customers += p.customers.len() as u64;
        }
        let current = page.take();
        let store_it = async {
            match inflight.take() {
                Some(b) => store.insert_care_tasks(b).await.map(Some),
                None => Ok(None),
            }
        };
        let read_it = async {
            match current {
                Some(_) => roster.next(store).await,
                None => Ok(None),
            }
        };
        let plan_it = async {
            // Let the insert and the read start first.
            tokio::task::yield_now().await;
            let Some(page) = &current else {
                return Ok(None);
            };
            let c = &page.customers;
            let (lo, hi) = (c[0].0, c[c.len() - 1].0);
            let rules = &rule_tasks[rule_tasks.partition_point(|t| t.key.customer_id < Some(lo))
                ..rule_tasks.partition_point(|t| t.key.customer_id <= Some(hi))];
            let made = &made[made.partition_point(|m| m.customer_id < lo)
                ..made.partition_point(|m| m.customer_id <= hi)];
            let stored = &stored[stored.partition_point(|s| s.customer_id < lo)
                ..stored.partition_point(|s| s.customer_id <= hi)];
            plan.batch(c, &page.contacts, rules, made, stored).map(Some)
        };
        let (created, next, planned) = tokio::join!(store_it, read_it, plan_it);
        greetings_created += created?.unwrap_or(0);
        page = next?;
        progress(planned_customers, total.max(planned_customers));
        if let Some(p) = planned? {
            greetings_planned += p.planned;
            report.deferred_by_cap += p.deferred;
            report.dropped_by_cap += p.dropped;
            decided_rules.extend(p.rules);
            inflight = (!p.greetings.tasks.is_empty()).then_some(p.greetings);
        }
    }
    drop(rule_tasks);

    // The rule tasks, by kind; then the daily quota.
    let mut by_kind: BTreeMap<TaskKind, CareTaskBatch> = BTreeMap::new();
    for (t, date) in decided_rules
        .iter()
        .map(|(t, d)| (t, *d))
        .chain(quota_tasks.iter().map(|t| (t, t.due)))
    {
        let (channel, message) = rule_task_text(t, &settings.cadence_standards);
        let b = by_kind.entry(t.key.kind).or_default();
        let occasions = b.text(&serde_json::to_string(&t.detail).unwrap_or_default());
        let message = b.text(&message);
        b.tasks.push(NewCareTask {
            kind: t.key.kind.as_str(),
            planned_for: t.key.date,
            date,
            customer_id: t.key.customer_id,
            contact_id: t.key.contact_id,
            salesperson_id: t
                .key
                .customer_id
                .is_none()
                .then_some(t.key.salesperson_id)
                .flatten(),
            occasions,
            template: None,
            message: Some(message),
            channel,
        });
    }
    let greeting = TaskKind::Greeting.as_str().to_string();
    report.planned.insert(greeting.clone(), greetings_planned);
    report.created.insert(greeting, greetings_created);
    for (kind, batch) in by_kind {
        let planned = batch.tasks.len() as u64;
        let n = store.insert_care_tasks(batch).await?;
        report.planned.insert(kind.as_str().into(), planned);
        report.created.insert(kind.as_str().into(), n);
    }
    Ok(report)
}

/// Customers planned (and greetings stored) at a time: about fifty
/// thousand tasks on a festival.
const CUSTOMERS_PER_BATCH: usize = 25_000;

/// Whom a run greets, a batch of customers at a time: read from the store
/// page by page (a calendar occasion greets everyone: the next page is read
/// while the tasks of this one are stored), or listed already.
enum RosterPages {
    Read { after: i64 },
    Listed { roster: CareRoster, next: usize },
}

impl RosterPages {
    /// The next batch of customers (ascending) and their contacts; `None` at the end.
    async fn next(&mut self, store: &dyn Store) -> Result<Option<CareRoster>, GenerateError> {
        match self {
            RosterPages::Read { after } => {
                let page = store
                    .care_roster(*after, CUSTOMERS_PER_BATCH as i64)
                    .await?;
                let Some(&(last, _)) = page.customers.last() else {
                    return Ok(None);
                };
                *after = last;
                Ok(Some(page))
            }
            RosterPages::Listed { roster, next } => {
                let end = (*next + CUSTOMERS_PER_BATCH).min(roster.customers.len());
                let customers = &roster.customers[*next..end];
                let (Some(&(lo, _)), Some(&(hi, _))) = (customers.first(), customers.last()) else {
                    return Ok(None);
                };
                *next = end;
                let contacts = &roster.contacts[roster.contacts.partition_point(|p| p.1 < lo)
                    ..roster.contacts.partition_point(|p| p.1 <= hi)];
                Ok(Some(CareRoster {
                    customers: customers.to_vec(),
                    contacts: contacts.to_vec(),
                }))
            }
        }
    }
}

fn task_kind(kind: &str) -> Option<TaskKind> {
    [
        TaskKind::Greeting,
        TaskKind::Cadence,
        TaskKind::Quota,
        TaskKind::Deadline,
        TaskKind::OrderDay,
        TaskKind::FollowUp,
    ]
    .into_iter()
    .find(|k| k.as_str() == kind)
}

/// Sorted keys, asked for mostly in ascending order (a batch's greetings
/// are planned in key order): a cursor walks forward through them, and a
/// key before the last one asked for is found by binary search.
struct SortedKeys {
    keys: Vec<TaskKey>,
    at: usize,
}

impl SortedKeys {
    fn new(mut keys: Vec<TaskKey>) -> SortedKeys {
        keys.sort_unstable();
        SortedKeys { keys, at: 0 }
    }

    fn contains(&mut self, key: &TaskKey) -> bool {
        // keys[..at] are all below the key asked for last.
        if self.at > 0 && self.keys[self.at - 1] >= *key {
            self.at = self.keys.partition_point(|k| k < key);
        }
        while self.at < self.keys.len() && self.keys[self.at] < *key {
            self.at += 1;
        }
        self.keys.get(self.at) == Some(key)
    }
}

/// What stays the same for every batch of one run.
struct Planning<'a> {
    calendar: &'a Calendar,
    templates: &'a Templates,
    from: NaiveDate,
    to: NaiveDate,
    cap: FrequencyCap,
    /// By customer id.
    key_dates: &'a [(i64, Vec<KeyDate>)],
    /// By contact id.
    birthdays: &'a [(i64, Anniversary)],
}

/// One batch planned: its greetings to store, its rule tasks with the day
/// the cap gave them.
struct PlannedBatch {
    /// The greetings to store: those planned less those stored already.
    greetings: CareTaskBatch,
    /// Greetings planned, stored already or not.
    planned: u64,
    rules: Vec<(CareTask, NaiveDate)>,
    deferred: u64,
    dropped: u64,
}

impl Planning<'_> {
    /// Plans the greetings of `customers` (id, owner; ascending) and their
    /// `contacts` (id, customer), and applies the frequency cap to them and
    /// the customers' rule tasks, against the contacts `made` and the tasks
    /// `stored` before (a stored task planned again now is not counted
    /// twice: the cap decides from the same facts on every run).
    fn batch(
        &self,
        customers: &[(i64, i64)],
        contacts: &[(i64, i64)],
        rules: &[CareTask],
        made: &[CustomerContact],
        stored: &[CareTaskContact],
    ) -> Result<PlannedBatch, GenerateError> {
        // Kinds are known (the caller kept only those that contact a customer).
        let mut stored: Vec<(TaskKey, NaiveDate)> = stored
            .iter()
            .filter_map(|t| {
                let key = TaskKey::customer(
                    task_kind(t.kind)?,
                    t.customer_id,
                    t.contact_id,
                    t.planned_for,
                );
                Some((key, t.date))
            })
            .collect();
        stored.sort_unstable_by_key(|s| s.0);
        let greeting_customers: Vec<GreetingCustomer> = customers
            .iter()
            .map(|&(id, _)| GreetingCustomer {
                id,
                key_dates: self
                    .key_dates
                    .binary_search_by_key(&id, |k| k.0)
                    .map(|i| self.key_dates[i].1.clone())
                    .unwrap_or_default(),
            })
            .collect();
        let greeting_contacts: Vec<GreetingContact> = contacts
            .iter()
            .map(|&(id, customer_id)| GreetingContact {
                id,
                customer_id,
                birthday: self
                    .birthdays
                    .binary_search_by_key(&id, |b| b.0)
                    .ok()
                    .map(|i| self.birthdays[i].1),
            })
            .collect();
        let greetings = greeting::plan_greetings(
            self.calendar,
            self.from,
            self.to,
            &greeting_customers,
            &greeting_contacts,
        )?;
        let mut planned: Vec<PlannedContact> = greetings.iter().map(PlannedContact::from).collect();
        planned.extend(rules.iter().map(PlannedContact::from));
        let mut already: Vec<CustomerContact> = made.to_vec();
        // Open tasks with a planned key are stored already: a re-run sends
        // them to the store no second time (its unique key would refuse them).
        // Sorted keys walked in step, not hash sets: on a festival's re-run
        // these are two million keys, hashed twice each otherwise.
        let mut stored_keys = SortedKeys::new(stored.iter().map(|(k, _)| *k).collect());
        if !stored.is_empty() {
            let mut keys = SortedKeys::new(planned.iter().map(|p| p.key).collect());
            already.extend(
                stored
                    .iter()
                    .filter(|(k, _)| !keys.contains(k))
                    .map(|(k, date)| CustomerContact {
                        customer_id: k.customer_id.unwrap_or_default(),
                        date: *date,
                    }),
            );
        }
        let decisions: HashMap<TaskKey, CapDecision> =
            cap::apply_frequency_cap(self.cap, &already, &planned)?
                .into_iter()
                .filter(|(_, d)| *d != CapDecision::Keep)
                .collect();
        let (mut deferred, mut dropped) = (0u64, 0u64);
        let mut decide = |key: &TaskKey, date: NaiveDate| match decisions.get(key) {
            None | Some(CapDecision::Keep) => Some(date),
            Some(CapDecision::Defer { to }) => {
                deferred += 1;
                Some(*to)
            }
            Some(CapDecision::Drop { .. }) => {
                dropped += 1;
                None
            }
        };
        // The occasions and the template of a greeting depend only on its
        // reasons: stored once per distinct set.
        let mut batch = CareTaskBatch::default();
        let mut texts: HashMap<&[GreetingReason], (u32, u32)> = HashMap::new();
        // The last distinct reasons seen and their texts.
        type Texts<'r> = (&'r Arc<[GreetingReason]>, (u32, u32));
        let mut last: Option<Texts> = None;
        batch.tasks.reserve(greetings.len());
        let mut kept = 0u64;
        for g in &greetings {
            let Some(date) = decide(&g.key, g.date()) else {
                continue;
            };
            kept += 1;
            if stored_keys.contains(&g.key) {
                continue;
            }
            let (occasions, template) = match last {
                // Most greetings of a day share the day's occasions.
                Some((reasons, t)) if Arc::ptr_eq(reasons, &g.reasons) => t,
                _ => {
                    let t = *texts.entry(&g.reasons).or_insert_with(|| {
                        let json = serde_json::to_string(&g.reasons).unwrap_or_default();
                        (
                            batch.text(&json),
                            batch.text(self.templates.for_task(g).source()),
                        )
                    });
                    last = Some((&g.reasons, t));
                    t
                }
            };
            batch.tasks.push(NewCareTask {
                kind: TaskKind::Greeting.as_str(),
                planned_for: g.key.date,
                date,
                customer_id: Some(g.customer_id()),
                contact_id: g.contact_id(),
                salesperson_id: None,
                occasions,
                template: Some(template),
                message: None,
                channel: None,
            });
        }
        let rules = rules
            .iter()
            .filter_map(|t| Some((t.clone(), decide(&t.key, t.due)?)))
            .collect();
        Ok(PlannedBatch {
            planned: kept,
            greetings: batch,
            rules,
            deferred,
            dropped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cursor answers as a search of the whole list would, whatever
    /// order the keys are asked in: ascending (the usual case), repeated,
    /// going back, and past the end.
    #[test]
    fn sorted_keys_answer_in_any_order() {
        let day: NaiveDate = "2026-09-25".parse().unwrap();
        let key = |c: i64, p: Option<i64>| TaskKey::customer(TaskKind::Greeting, c, p, day);
        let stored = vec![
            key(5, Some(2)),
            key(1, None),
            key(3, Some(7)),
            key(1, Some(1)),
        ];
        let mut keys = SortedKeys::new(stored.clone());
        let asked = [
            key(1, None),
            key(1, Some(1)),
            key(1, Some(1)),
            key(2, Some(1)),
            key(5, Some(2)),
            key(3, Some(7)),
            key(1, None),
            key(9, None),
            key(0, None),
            key(5, Some(2)),
        ];
        for k in asked {
            assert_eq!(keys.contains(&k), stored.contains(&k), "{k}");
        }
        assert!(!SortedKeys::new(vec![]).contains(&key(1, None)));
    }
}
