// zh-CN formats: ¥1,234.50 and 2026年11月23日. Money arrives from the API as a
// decimal string in yuan ("1234.50") and is added up in integer fen (BigInt),
// never as a float.
import { getLang } from './i18n.js';

/** "1234.50" → 123450n (fen); null when not a number. */
export function fen(s) {
  if (s === null || s === undefined) return null;
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(String(s).trim());
  if (!m) return null;
  const v = BigInt(m[2]) * 100n + BigInt((m[3] || '0').padEnd(2, '0'));
  return m[1] ? -v : v;
}

/** 123450n → "¥1,234.50". */
export function yuanFromFen(f) {
  const neg = f < 0n;
  const a = neg ? -f : f;
  const whole = (a / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const cents = (a % 100n).toString().padStart(2, '0');
  return `${neg ? '-' : ''}¥${whole}.${cents}`;
}

/** "1234.5" → "¥1,234.50"; anything unparsable is shown as it came. */
export function money(s) {
  const f = fen(s);
  return f === null ? (s ?? '') : yuanFromFen(f);
}

function parts(value) {
  if (!value) return null;
  // A bare date ("2026-11-23") is a calendar day, not an instant: no time zone shift.
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (d) return new Date(Number(d[1]), Number(d[2]) - 1, Number(d[3]));
  const t = new Date(value);
  return Number.isNaN(t.getTime()) ? null : t;
}

/** 2026年11月23日 (or 23 November 2026 in English). */
export function date(value) {
  const d = parts(value);
  if (!d) return value ?? '';
  return new Intl.DateTimeFormat(getLang() === 'en' ? 'en-GB' : 'zh-CN', { dateStyle: 'long' }).format(d);
}

/** A calendar month "2026-03" → 2026年3月 (March 2026). */
export function month(ym) {
  const m = /^(\d{4})-(\d{2})$/.exec(ym || '');
  if (!m) return ym ?? '';
  return new Intl.DateTimeFormat(getLang() === 'en' ? 'en-GB' : 'zh-CN', { year: 'numeric', month: 'long' })
    .format(new Date(Number(m[1]), Number(m[2]) - 1, 1));
}

/** 2026年11月23日 14:30. */
export function dateTime(value) {
  const d = parts(value);
  if (!d) return value ?? '';
  const hm = d.toTimeString().slice(0, 5);
  return `${date(value)} ${hm}`;
}

/** Today as YYYY-MM-DD in the browser's time zone. */
export function today() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** Whole days from `from` to `to` (YYYY-MM-DD). */
export function daysBetween(from, to) {
  return Math.round((parts(to) - parts(from)) / 86400000);
}

/** 1234567 → "1,234,567" (zh-CN grouping); `digits` decimals at most. */
export function num(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '—';
  return Number(n).toLocaleString('zh-CN', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** A share 0.2667 → "26.67%"; `already` when the value is in percent already. */
export function percent(x, { already = false, digits = 2 } = {}) {
  if (x === null || x === undefined || Number.isNaN(Number(x))) return '—';
  const v = already ? Number(x) : Number(x) * 100;
  return `${v.toLocaleString('zh-CN', { minimumFractionDigits: digits, maximumFractionDigits: digits })}%`;
}

/** A float in yuan (from a model, e.g. CLV) → "¥1,234.50". */
export function yuan(v) {
  if (v === null || v === undefined || !Number.isFinite(Number(v))) return '—';
  return money(Number(v).toFixed(2));
}

const LUNAR_MONTHS = ['正月', '二月', '三月', '四月', '五月', '六月', '七月', '八月', '九月', '十月', '冬月', '腊月'];
const DIGITS = ['', '一', '二', '三', '四', '五', '六', '七', '八', '九', '十'];

/** A lunar day the way a calendar writes it: 初一 … 初十, 十一 … 二十, 廿一 … 三十. */
function lunarDay(d) {
  if (d <= 10) return `初${DIGITS[d]}`;
  if (d < 20) return `十${DIGITS[d - 10]}`;
  if (d === 20) return '二十';
  if (d < 30) return `廿${DIGITS[d - 20]}`;
  return '三十';
}

/**
 * A birthday as the API writes it: 1980-05-03 (solar, with its year),
 * 05-03 (no year), 农历1971-04-14 / 农历闰04-30 (lunar) →
 * 1980年5月3日, 5月3日, 农历四月十四（1971年）, 农历闰四月三十.
 */
export function birthday(s) {
  if (!s) return '';
  const en = getLang() === 'en';
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return date(s);
  let m = /^(\d{2})-(\d{2})$/.exec(s);
  if (m) {
    return new Intl.DateTimeFormat(en ? 'en-GB' : 'zh-CN', { month: 'long', day: 'numeric' }).format(new Date(2000, Number(m[1]) - 1, Number(m[2])));
  }
  m = /^(?:农历|lunar:)(闰)?(?:(\d{4})-)?(\d{2})-(\d{2})$/.exec(s);
  if (m) {
    const [, leap, year, mo, d] = m;
    if (en) return `lunar ${leap ? 'leap ' : ''}${Number(mo)}/${Number(d)}${year ? ` (${year})` : ''}`;
    return `农历${leap ? '闰' : ''}${LUNAR_MONTHS[Number(mo) - 1] || mo}${lunarDay(Number(d))}${year ? `（${year}年）` : ''}`;
  }
  return s;
}
