#!/usr/bin/env python3
"""Fills a keqing SQLite database (schema already created by keqing) with
N customers, 2 contacts each, 200 customer managers and some activities, in
the exact document form the store writes. A direct bulk path: the store's
import (one duplicate check per row) would take minutes at this size, and
only generation is timed.

usage: populate.py DB [CUSTOMERS]
"""
import json
import random
import sqlite3
import sys
import time

db = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
rnd = random.Random(42)
NOW = "2026-11-01T00:00:00.000000Z"
MANAGERS = 200

CUSTOMER = {
    "address": None, "business_stage": "new",
    "card": {"business_progress": None, "gift_policy": None, "gifts_forbidden": False,
             "interests": None, "preferred_contact_time": None, "recent_events": None, "taboos": None},
    "city": None, "class": None, "company_type": None, "custom": {}, "district": None, "email": None,
    "external_code": None, "industry": None, "key_customer": False, "key_dates": [], "kind": "company",
    "name": "", "parent_id": None, "phone": None, "province": None, "referrer_id": None, "source": None,
    "stage": "order", "tags": [], "tier": None, "website": None,
}
CONTACT = {
    "birthday": None, "buying_role": None, "consent": {"email": False, "phone": True, "sms": True, "wechat": True},
    "email": None, "hobbies": None, "level": None, "mobile": None, "name": "", "notes": None, "phone": None,
    "qq": None, "style": None, "title": None, "wechat": None,
}
STAGES = ["new", "intent", "existing"]
LEVELS = [None, "executor", "person_in_charge", "decision_maker"]
TITLES = [None, "经理", "总经理", "采购主管", "财务"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def month_day():
    m = rnd.randint(1, 12)
    return m, rnd.randint(1, [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1])


c = sqlite3.connect(db)
c.execute("PRAGMA synchronous = OFF")
c.execute("PRAGMA journal_mode = WAL")
(existing,) = c.execute("SELECT count(*) FROM customers").fetchone()
if existing:
    sys.exit(f"{db} already has {existing} customers")
t0 = time.time()
team = c.execute("INSERT INTO teams (name) VALUES ('基准测试部')").lastrowid
c.executemany(
    "INSERT INTO users (username, display_name, role, team_id, password_hash, active, created_at) VALUES (?, ?, 'manager', ?, 'x', 1, ?)",
    [(f"m{i}", f"经理{i}", team, NOW) for i in range(MANAGERS)],
)
manager_ids = [r[0] for r in c.execute("SELECT id FROM users WHERE role = 'manager' ORDER BY id")]


def customers():
    for i in range(1, n + 1):
        d = dict(CUSTOMER)
        d["name"] = f"基准客户{i:07d}有限公司"
        d["business_stage"] = STAGES[i % 3]
        r = rnd.random()
        cls = "A" if r < 0.03 else None
        tier = "水晶" if 0.03 <= r < 0.035 else ("商务A+" if 0.035 <= r < 0.045 else None)
        d["class"], d["tier"] = cls, tier
        d["key_customer"] = 0.045 <= r < 0.055
        if rnd.random() < 0.05:
            m, day = month_day()
            d["key_dates"] = [{"name": "成立纪念日", "date": f"2010-{m:02d}-{day:02d}", "lunar": False}]
        else:
            d["key_dates"] = []
        if rnd.random() < 0.01:
            d["custom"] = {"order_weekdays": "周一,周四"}
        else:
            d["custom"] = {}
        owner = None if rnd.random() < 0.02 else manager_ids[i % MANAGERS]
        yield (i, d["name"], "", "", cls, tier, "order", "", json.dumps(d, ensure_ascii=False),
               owner, team if owner else None, NOW, NOW, NOW)


c.executemany(
    "INSERT INTO customers (id, version, name, pinyin, initials, class, tier, stage, tags, doc, owner_id, team_id, owned_since, created_at, updated_at) "
    "VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    customers(),
)
t1 = time.time()


def contacts():
    k = 0
    for i in range(1, n + 1):
        for _ in range(2):
            k += 1
            d = dict(CONTACT)
            d["name"] = rnd.choice(SURNAMES) + f"先生{k}"
            d["level"] = LEVELS[k % 4]
            d["title"] = TITLES[k % 5]
            r = rnd.random()
            if r < 0.48:
                m, day = month_day()
                d["birthday"] = f"{rnd.randint(1960, 2000)}-{m:02d}-{day:02d}" if r < 0.3 else f"{m:02d}-{day:02d}"
            elif r < 0.6:
                d["birthday"] = f"农历{rnd.randint(1, 12):02d}-{rnd.randint(1, 30):02d}"
            yield (k, i, d["name"], birthday_key(d["birthday"]), json.dumps(d, ensure_ascii=False), NOW)


def birthday_key(b):
    """The store's `birthday_key` column (keqing-store lib.rs): S11-23, L08-15."""
    if b is None:
        return None
    return ("L" if b.startswith("农历") else "S") + b[-5:]


c.executemany(
    "INSERT INTO contacts (id, customer_id, version, name, birthday_key, doc, created_at)"
    " VALUES (?, ?, 1, ?, ?, ?, ?)",
    contacts(),
)
t2 = time.time()


def activities():
    kinds = ["visit", "call", "call", "sms", "help", "meal"]
    for j in range(200_000):
        cust = rnd.randint(1, n)
        kind = kinds[j % len(kinds)]
        day = rnd.randint(1, 52)  # 2026-10-01 .. 2026-11-21
        month, dom = (10, day) if day <= 31 else (11, day - 31)
        at = f"2026-{month:02d}-{dom:02d}T0{rnd.randint(1, 9)}:00:00.000000Z"
        doc = {"kind": kind, "contact_id": None, "at": at.replace(".000000Z", "Z"), "summary": None,
               "gift_item": None, "gift_value": None,
               "help_kind": "advice" if kind == "help" else None,
               "matter": "company" if kind == "help" else None, "feedback_kind": None}
        yield (cust, manager_ids[cust % MANAGERS], kind, at, json.dumps(doc))


c.executemany("INSERT INTO activities (customer_id, user_id, kind, at, doc) VALUES (?, ?, ?, ?, ?)", activities())
c.commit()
c.execute("ANALYZE")
c.close()
print(f"populated {n} customers ({t1 - t0:.0f} s), {2 * n} contacts ({t2 - t1:.0f} s), 200000 activities, {MANAGERS} managers")
