//! Streaming CSV reader for transaction files.
//!
//! Speed comes from: large reads (4 MiB chunks cut at record boundaries,
//! buffers reused); a splitter that finds delimiters, newlines and quotes 64
//! bytes at a time (SSE2 bit masks) and jumps from field to field of a line
//! without quotes; inlined fast paths for `2025-03-01` and `1234.56`; two
//! parsing threads each interning customer keys in its own open-addressing
//! table on huge pages, looked up in batches whose slots are prefetched
//! together so the cache misses overlap. No thread waits on a shared table:
//! the threads' tables are merged once at the end (each key remembers where
//! it first appeared, so ids keep the file's order). For rows
//! ([`read_csv`]) the rows' thread-local ids are then rewritten to the merged
//! ones; for totals ([`read_csv_totals`]) each thread keeps running
//! per-customer totals in its table's slots. Line numbers of bad rows come
//! from the chunks' newline counts, added up in file order.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use memchr::{memchr, memchr2, memchr_iter, memrchr};

use crate::date::parse_date;
use crate::error::{AnalysisError, Result, RowError};
use crate::money::parse_amount_fen;
use crate::transactions::{hash_key, CustomerTotals, KeyTable, Transactions};

const CHUNK: usize = 4 << 20;

/// How to read a transaction file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Column holding the customer key; recognised from the header when `None`.
    pub customer_col: Option<String>,
    /// Column holding the purchase date (time of day is ignored).
    pub date_col: Option<String>,
    /// Column holding the amount in yuan (`¥1,234.50` and `1234.5` both work).
    pub amount_col: Option<String>,
    /// Skip and report bad rows instead of stopping at the first one.
    pub skip_bad: bool,
    /// Field delimiter, `,` by default.
    pub delimiter: u8,
    /// Parsing threads (at least 1).
    pub threads: usize,
    /// Size of each read (a chunk handed to a parsing thread), 4 MiB by default.
    pub buffer_bytes: usize,
    /// [`read_csv_totals`] only: also return the customer keys (in order of
    /// first appearance). Without them (`false`) the totals come in no
    /// particular order with `customer_ids` empty: enough for summaries,
    /// and it spares building a string per customer.
    pub customer_ids: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            customer_col: None,
            date_col: None,
            amount_col: None,
            skip_bad: false,
            delimiter: b',',
            threads: 2,
            buffer_bytes: CHUNK,
            customer_ids: true,
        }
    }
}

/// What reading a file did besides producing rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReadReport {
    /// Data rows read into the table.
    pub rows: u64,
    /// Rows skipped with `skip_bad`, in file order.
    pub skipped: Vec<RowError>,
    /// The header names used for customer, date and amount.
    pub columns: [String; 3],
}

const CUSTOMER_NAMES: &[&str] = &[
    "客户编号",
    "客户id",
    "客户代码",
    "客户号",
    "客户编码",
    "客户",
    "客户名称",
    "会员编号",
    "会员id",
    "会员号",
    "会员卡号",
    "用户id",
    "用户编号",
    "顾客编号",
    "顾客id",
    "买家id",
    "customerid",
    "customer",
    "custid",
    "customerno",
    "customercode",
    "clientid",
    "client",
    "memberid",
    "userid",
    "buyerid",
    "id",
];
const DATE_NAMES: &[&str] = &[
    "日期",
    "下单时间",
    "下单日期",
    "订单日期",
    "订单时间",
    "交易日期",
    "交易时间",
    "购买日期",
    "购买时间",
    "消费日期",
    "消费时间",
    "成交日期",
    "成交时间",
    "付款时间",
    "付款日期",
    "支付时间",
    "支付日期",
    "时间",
    "orderdate",
    "date",
    "transactiondate",
    "purchasedate",
    "invoicedate",
    "orderdatetime",
    "ordertime",
    "datetime",
    "timestamp",
    "createdat",
    "paidat",
];
const AMOUNT_NAMES: &[&str] = &[
    "金额",
    "实付金额",
    "订单金额",
    "交易金额",
    "消费金额",
    "销售额",
    "销售金额",
    "实收金额",
    "支付金额",
    "付款金额",
    "总金额",
    "应付金额",
    "成交金额",
    "amount",
    "sales",
    "revenue",
    "total",
    "totalamount",
    "paymentamount",
    "orderamount",
    "monetary",
    "spend",
    "value",
    "price",
];

fn normalise(name: &str) -> String {
    name.trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '\t' | '(' | ')' | '（' | '）'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Resolves the three columns from header names and options.
pub(crate) fn resolve_columns(header: &[String], opts: &ReadOptions) -> Result<[usize; 3]> {
    let norm: Vec<String> = header.iter().map(|h| normalise(h)).collect();
    let find = |given: &Option<String>, names: &[&str], what: &str| -> Result<usize> {
        if let Some(g) = given {
            if let Some(i) = header.iter().position(|h| h.trim() == g.trim()) {
                return Ok(i);
            }
            let ng = normalise(g);
            return norm.iter().position(|h| *h == ng).ok_or_else(|| {
                AnalysisError::Header(format!(
                    "no column named {g:?} for the {what}; the header has {header:?}"
                ))
            });
        }
        for n in names {
            if let Some(i) = norm.iter().position(|h| h == n) {
                return Ok(i);
            }
        }
        Err(AnalysisError::Header(format!(
            "cannot tell which column is the {what}; the header has {header:?} (name it with the column option, e.g. --{}-col)",
            what.split(' ').next().unwrap_or(what)
        )))
    };
    let c = find(&opts.customer_col, CUSTOMER_NAMES, "customer id")?;
    let d = find(&opts.date_col, DATE_NAMES, "date")?;
    let a = find(&opts.amount_col, AMOUNT_NAMES, "amount")?;
    if c == d || c == a || d == a {
        return Err(AnalysisError::Header(
            "customer, date and amount must be three different columns".into(),
        ));
    }
    Ok([c, d, a])
}

/// Reads a transactions CSV file.
pub fn read_csv(path: &Path, opts: &ReadOptions) -> Result<(Transactions, ReadReport)> {
    read_csv_with_progress(path, opts, &mut |_, _| {})
}

/// Like [`read_csv`], calling `progress(bytes_done, bytes_total)` as it goes.
pub fn read_csv_with_progress(
    path: &Path,
    opts: &ReadOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(Transactions, ReadReport)> {
    let io = |source| AnalysisError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    read_csv_from(file, total, opts, progress).map_err(|e| match e {
        AnalysisError::Output(source) => io(source),
        e => e,
    })
}

/// Reads CSV from any reader (`total` is only used for progress).
pub fn read_csv_from<R: Read + Send>(
    reader: R,
    total: u64,
    opts: &ReadOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(Transactions, ReadReport)> {
    let (tx, _, report) = read_impl(reader, total, opts, progress, None)?;
    Ok((tx, report))
}

/// Reads a transactions CSV straight into per-customer totals (last day,
/// purchases, amount) of the purchases on or before `up_to`, without
/// keeping the rows: what RFM needs, in a fraction of the memory. Each
/// parsing thread keeps totals for the customers it meets; the threads'
/// tables are merged once at the end.
pub fn read_csv_totals(
    path: &Path,
    opts: &ReadOptions,
    up_to: Option<i32>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(CustomerTotals, ReadReport)> {
    let io = |source| AnalysisError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let (_, totals, report) =
        read_impl(file, total, opts, progress, Some(up_to)).map_err(|e| match e {
            AnalysisError::Output(source) => io(source),
            e => e,
        })?;
    Ok((totals.unwrap_or_default(), report))
}

/// Running totals of one customer, kept in the worker's key table slot.
#[derive(Debug, Clone, Copy, Default)]
struct Tot {
    last: i32,
    count: u32,
    sum: i64,
}

impl Tot {
    fn add(&mut self, o: &Tot) {
        if o.count > 0 {
            self.last = if self.count == 0 {
                o.last
            } else {
                self.last.max(o.last)
            };
            self.count += o.count;
            self.sum += o.sum;
        }
    }
}

/// What a parsing thread hands back at the end.
#[derive(Default)]
struct WorkerTotals {
    table: KeyTable<Tot>,
    /// Where each key (by the table's id) first appeared: chunk number in
    /// the high bits, offset in the chunk in the low 40.
    first: Vec<u64>,
    rows: u64,
    max_day: Option<i32>,
}

/// Merges the threads' tables into the largest one. Returns it and, for
/// each thread (by index), the merged table's id of each of its own ids.
fn merge_tables(parts: Vec<WorkerTotals>) -> (WorkerTotals, Vec<Vec<u32>>) {
    let n = parts.len();
    let big = (0..n).max_by_key(|&w| parts[w].table.len()).unwrap_or(0);
    let mut parts: Vec<Option<WorkerTotals>> = parts.into_iter().map(Some).collect();
    let mut a = parts
        .get_mut(big)
        .and_then(Option::take)
        .unwrap_or_default();
    let mut remaps = vec![Vec::new(); n.max(1)];
    remaps[big] = (0..a.table.len() as u32).collect();
    for (w, b) in parts.into_iter().enumerate() {
        let Some(b) = b else { continue };
        let mut remap = vec![0u32; b.table.len()];
        let first = &mut a.first;
        a.table.absorb(&b.table, |bid, id, new, v, bv| {
            remap[bid as usize] = id;
            let at = b.first[bid as usize];
            if new {
                first.push(at);
            } else {
                first[id as usize] = first[id as usize].min(at);
            }
            v.add(bv);
        });
        remaps[w] = remap;
        a.rows += b.rows;
        a.max_day = a.max_day.max(b.max_day);
    }
    (a, remaps)
}

/// The merged table's ids in order of first appearance in the file, and
/// each id's position in that order.
fn first_appearance(a: &WorkerTotals) -> (Vec<u32>, Vec<u32>) {
    let k = a.table.len();
    let mut order: Vec<u32> = (0..k as u32).collect();
    order.sort_unstable_by_key(|&id| a.first[id as usize]);
    let mut rank = vec![0u32; k];
    for (pos, &id) in order.iter().enumerate() {
        rank[id as usize] = pos as u32;
    }
    (order, rank)
}

fn key_strings(a: &WorkerTotals, order: &[u32]) -> Vec<String> {
    order
        .iter()
        .map(|&id| String::from_utf8_lossy(a.table.key(id)).into_owned())
        .collect()
}

/// Merges the threads' totals and lays them out as [`CustomerTotals`]: by
/// first appearance with the keys, or in table order without them.
fn merge_totals(parts: Vec<WorkerTotals>, up_to: Option<i32>, with_ids: bool) -> CustomerTotals {
    let (a, _) = merge_tables(parts);
    let k = a.table.len();
    let mut t = CustomerTotals {
        customer_ids: Vec::new(),
        last_day: Vec::with_capacity(k),
        purchases: Vec::with_capacity(k),
        amount_fen: Vec::with_capacity(k),
        rows: a.rows,
        max_day: a.max_day,
        up_to,
    };
    let mut push = |v: &Tot| {
        t.last_day
            .push(if v.count == 0 { i32::MIN } else { v.last });
        t.purchases.push(u64::from(v.count));
        t.amount_fen.push(v.sum);
    };
    if with_ids {
        let mut by_id = vec![Tot::default(); k];
        for (id, v) in a.table.values() {
            by_id[id as usize] = *v;
        }
        let (order, _) = first_appearance(&a);
        for &id in &order {
            push(&by_id[id as usize]);
        }
        t.customer_ids = key_strings(&a, &order);
    } else {
        for (_, v) in a.table.values() {
            push(v);
        }
    }
    t
}

fn read_impl<R: Read + Send>(
    mut reader: R,
    total: u64,
    opts: &ReadOptions,
    progress: &mut dyn FnMut(u64, u64),
    totals_up_to: Option<Option<i32>>,
) -> Result<(Transactions, Option<CustomerTotals>, ReadReport)> {
    let delim = opts.delimiter;
    let chunk = opts.buffer_bytes.max(4096);
    // Read until the header record is complete.
    let mut buf = Vec::with_capacity(chunk);
    let mut eof = false;
    let header_end = loop {
        if let Some(end) = record_end(&buf, delim) {
            break end;
        }
        if eof {
            break buf.len();
        }
        eof = fill(&mut reader, &mut buf, chunk)?;
    };
    let bom = if buf.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let header_bytes = &buf[bom.min(header_end)..header_end];
    if header_bytes.iter().all(|c| c.is_ascii_whitespace()) {
        return Err(AnalysisError::Empty("the file has no header line".into()));
    }
    let header = split_record(header_bytes, delim)
        .into_iter()
        .map(|f| {
            String::from_utf8(f).map_err(|_| {
                AnalysisError::Header("the header is not UTF-8; save the file as UTF-8".into())
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let cols = resolve_columns(&header, opts)?;
    let names = [
        header[cols[0]].trim().to_string(),
        header[cols[1]].trim().to_string(),
        header[cols[2]].trim().to_string(),
    ];
    buf.drain(..header_end);
    let spec = RowSpec {
        cols,
        names: names.clone(),
        delim,
        skip_bad: opts.skip_bad,
        totals: totals_up_to.is_some(),
        up_to: totals_up_to.flatten().unwrap_or(i32::MAX),
    };
    let threads = opts.threads.max(1);

    let mut tx = Transactions::default();
    let mut report = ReadReport {
        columns: names,
        ..Default::default()
    };
    // Size the key tables from the file size (up to one customer per 100
    // bytes, at most 2^19 before growing), to spare rehashing.
    let key_capacity = ((total / 100) as usize).clamp(1 << 12, 1 << 19);
    // Rows mode: which thread's ids each run of rows holds (thread, rows),
    // translated to the merged ids at the end.
    let mut spans: Vec<(usize, usize, usize)> = Vec::new();
    let mut lines_before: u64 = 1; // header
    let mut first_error: Option<RowError> = None;
    let mut bytes_done = header_end as u64;
    let mut worker_totals: Vec<WorkerTotals> = Vec::new();

    std::thread::scope(|scope| -> Result<()> {
        let (job_tx, job_rx) = mpsc::sync_channel::<(u64, Vec<u8>)>(threads);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (res_tx, res_rx) = mpsc::channel::<ChunkResult>();
        let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
        let mut workers = Vec::with_capacity(threads);
        for w in 0..threads {
            let free_tx = free_tx.clone();
            let job_rx = Arc::clone(&job_rx);
            let res_tx = res_tx.clone();
            let spec = &spec;
            workers.push(scope.spawn(move || {
                let mut totals = WorkerTotals {
                    table: KeyTable::with_capacity(key_capacity),
                    ..Default::default()
                };
                loop {
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => break,
                    };
                    let Ok((seq, data)) = job else { break };
                    let r = parse_chunk(&data, seq, w, spec, &mut totals);
                    // Hand the buffer back for reuse: fresh pages cost a fault and a clear each.
                    let _ = free_tx.send(data);
                    if res_tx.send(r).is_err() {
                        break;
                    }
                }
                totals
            }));
        }
        drop(res_tx);
        drop(free_tx);
        let reader_handle = scope.spawn(move || -> std::io::Result<()> {
            let mut seq = 0u64;
            let mut carry = buf;
            loop {
                if !eof && carry.len() < chunk {
                    eof = fill(&mut reader, &mut carry, chunk)?;
                    continue;
                }
                let cut = if eof {
                    Some(carry.len())
                } else {
                    last_record_boundary(&carry)
                };
                match cut {
                    Some(cut) => {
                        let mut next = match free_rx.try_recv() {
                            Ok(mut b) => {
                                b.clear();
                                b
                            }
                            Err(_) => Vec::with_capacity(chunk + (chunk >> 2)),
                        };
                        next.extend_from_slice(&carry[cut..]);
                        carry.truncate(cut);
                        if !carry.is_empty() && job_tx.send((seq, carry)).is_err() {
                            return Ok(());
                        }
                        seq += 1;
                        carry = next;
                        if eof {
                            return Ok(());
                        }
                    }
                    // A quoted field longer than the buffer: read more.
                    None => {
                        let want = carry.len() + chunk;
                        eof = fill(&mut reader, &mut carry, want)?;
                    }
                }
            }
        });

        // Merge chunk results in file order.
        let mut pending: BTreeMap<u64, ChunkResult> = BTreeMap::new();
        let mut next_seq = 0u64;
        for r in res_rx {
            pending.insert(r.seq, r);
            while let Some(r) = pending.remove(&next_seq) {
                next_seq += 1;
                bytes_done += r.bytes as u64;
                progress(bytes_done, total.max(bytes_done));
                if first_error.is_some() {
                    continue;
                }
                for mut e in r.errors {
                    e.line += lines_before;
                    if spec.skip_bad {
                        report.skipped.push(e);
                    } else {
                        first_error = Some(e);
                        break;
                    }
                }
                if first_error.is_some() {
                    continue;
                }
                lines_before += r.lines;
                if spec.totals {
                    // Each thread keeps its own totals: nothing to translate.
                    continue;
                }
                if tx.customer.capacity() == 0 && total > 0 && r.bytes > 0 {
                    // Size the columns once from the first chunk's bytes per row: growing
                    // by doubling would briefly hold the old and new copies.
                    let est = (total as f64 / r.bytes as f64 * r.customer.len() as f64 * 1.02)
                        as usize
                        + 1024;
                    tx.customer.reserve(est);
                    tx.day.reserve(est);
                    tx.amount_fen.reserve(est);
                }
                let lo = tx.customer.len();
                tx.customer.extend_from_slice(&r.customer);
                spans.push((r.worker, lo, tx.customer.len()));
                tx.day.extend_from_slice(&r.day);
                tx.amount_fen.extend_from_slice(&r.amount);
            }
        }
        for h in workers {
            match h.join() {
                Ok(t) => worker_totals.push(t),
                Err(_) => {
                    return Err(AnalysisError::InvalidParameter(
                        "parsing thread panicked".into(),
                    ))
                }
            }
        }
        match reader_handle.join() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(AnalysisError::Output(e)),
            Err(_) => Err(AnalysisError::InvalidParameter(
                "reader thread panicked".into(),
            )),
        }
    })?;
    if let Some(e) = first_error {
        return Err(AnalysisError::Row(e));
    }
    if !spec.totals {
        // One table of every key, ids by first appearance in the file.
        let (a, remaps) = merge_tables(worker_totals);
        let (order, rank) = first_appearance(&a);
        let maps: Vec<Vec<u32>> = remaps
            .iter()
            .map(|m| m.iter().map(|&id| rank[id as usize]).collect())
            .collect();
        for &(w, lo, hi) in &spans {
            let map = &maps[w];
            for c in &mut tx.customer[lo..hi] {
                *c = map[*c as usize];
            }
        }
        tx.customer_ids = key_strings(&a, &order);
        report.rows = tx.len() as u64;
        return Ok((tx, None, report));
    }
    let t = merge_totals(worker_totals, totals_up_to.flatten(), opts.customer_ids);
    report.rows = t.rows;
    Ok((tx, Some(t), report))
}

/// Appends up to `want - buf.len()` bytes; returns true at end of input.
fn fill<R: Read>(r: &mut R, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    let need = want.max(buf.len() + 1) - buf.len();
    buf.reserve(need);
    // `read_to_end` on a `Take` reads into the spare capacity without zeroing it first.
    let got = r.by_ref().take(need as u64).read_to_end(buf)?;
    Ok(got < need)
}

/// End (after the newline) of the first record, quote-aware; None if incomplete.
fn record_end(buf: &[u8], _delim: u8) -> Option<usize> {
    let mut in_quote = false;
    let mut p = 0;
    while let Some(i) = memchr2(b'"', b'\n', &buf[p..]) {
        let i = p + i;
        if buf[i] == b'"' {
            in_quote = !in_quote;
        } else if !in_quote {
            return Some(i + 1);
        }
        p = i + 1;
    }
    None
}

/// Position after the last newline that is outside quotes (buffer starts at a record start).
fn last_record_boundary(buf: &[u8]) -> Option<usize> {
    let total_quotes = memchr_iter(b'"', buf).count();
    let mut end = buf.len();
    let mut quotes_after = 0;
    while let Some(nl) = memrchr(b'\n', &buf[..end]) {
        quotes_after += memchr_iter(b'"', &buf[nl..end]).count();
        if (total_quotes - quotes_after).is_multiple_of(2) {
            return Some(nl + 1);
        }
        end = nl;
    }
    None
}

/// Splits one record (no trailing newline needed) into unescaped fields.
fn split_record(rec: &[u8], delim: u8) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut p = 0;
    let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
    let rec = rec.strip_suffix(b"\r").unwrap_or(rec);
    loop {
        let (f, next, _) = next_field(rec, p, delim);
        out.push(f.into_owned(rec));
        match next {
            Some(n) => p = n,
            None => break,
        }
    }
    out
}

/// Positions of the bytes that split records (the delimiter, `\n` and `"`),
/// in order: a bit mask per 64-byte block, so a row costs a few bit
/// operations per field instead of a comparison per byte.
struct Structurals<'a> {
    buf: &'a [u8],
    delim: u8,
    /// Start of the current block and its structural bytes not yet returned.
    base: usize,
    bits: u64,
}

impl<'a> Structurals<'a> {
    fn new(buf: &'a [u8], delim: u8) -> Self {
        let mut s = Structurals {
            buf,
            delim,
            base: 0,
            bits: 0,
        };
        s.seek(0);
        s
    }

    /// Continues from `pos` (the next structural byte at or after it).
    fn seek(&mut self, pos: usize) {
        self.base = pos & !63;
        self.bits = if self.base < self.buf.len() {
            block_mask(self.buf, self.base, self.delim) & (!0u64 << (pos & 63))
        } else {
            0
        };
    }

    /// Position of the next structural byte, or the buffer's length.
    #[inline]
    fn next(&mut self) -> usize {
        loop {
            if self.bits != 0 {
                let i = self.bits.trailing_zeros() as usize;
                self.bits &= self.bits - 1;
                return self.base + i;
            }
            self.base += 64;
            if self.base >= self.buf.len() {
                self.base = self.buf.len() & !63;
                return self.buf.len();
            }
            self.bits = block_mask(self.buf, self.base, self.delim);
        }
    }
}

/// Bit i set when `buf[base + i]` is the delimiter, `\n` or `"`.
#[inline]
fn block_mask(buf: &[u8], base: usize, delim: u8) -> u64 {
    match buf.get(base..base + 64) {
        Some(block) => mask64(block.try_into().unwrap_or(&[0; 64]), delim),
        None => {
            let mut m = 0u64;
            for (i, &b) in buf[base..].iter().enumerate() {
                m |= u64::from(b == delim || b == b'\n' || b == b'"') << i;
            }
            m
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn mask64(block: &[u8; 64], delim: u8) -> u64 {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of every x86_64 CPU (the target's baseline);
    // each load reads 16 bytes inside the 64-byte `block` (unaligned loads
    // are what `loadu` is for).
    unsafe {
        let d = _mm_set1_epi8(delim as i8);
        let nl = _mm_set1_epi8(b'\n' as i8);
        let qu = _mm_set1_epi8(b'"' as i8);
        let mut m = 0u64;
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
            let hit = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, d), _mm_cmpeq_epi8(v, nl)),
                _mm_cmpeq_epi8(v, qu),
            );
            m |= u64::from(_mm_movemask_epi8(hit) as u16) << (16 * k);
        }
        m
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn mask64(block: &[u8; 64], delim: u8) -> u64 {
    let mut m = 0u64;
    for (i, &b) in block.iter().enumerate() {
        m |= u64::from(b == delim || b == b'\n' || b == b'"') << i;
    }
    m
}

/// A field's location: plain slice or quoted with escapes.
enum Field {
    Plain(usize, usize),
    Escaped(usize, usize),
}

impl Field {
    fn into_owned(self, buf: &[u8]) -> Vec<u8> {
        match self {
            Field::Plain(s, e) => buf[s..e].to_vec(),
            Field::Escaped(s, e) => unescape(&buf[s..e]),
        }
    }
}

fn unescape(s: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        v.push(s[i]);
        if s[i] == b'"' && i + 1 < s.len() && s[i + 1] == b'"' {
            i += 1;
        }
        i += 1;
    }
    v
}

/// Parses the field starting at `p`. Returns the field, the start of the next
/// field (None at end of record) and whether the record ended at a newline
/// (the position after it then is the third value's `Some`).
fn next_field(buf: &[u8], p: usize, delim: u8) -> (Field, Option<usize>, Option<usize>) {
    let n = buf.len();
    if p < n && buf[p] == b'"' {
        let s = p + 1;
        let mut q = s;
        let mut escaped = false;
        let e = loop {
            match memchr(b'"', &buf[q..]) {
                Some(i) => {
                    let at = q + i;
                    if at + 1 < n && buf[at + 1] == b'"' {
                        escaped = true;
                        q = at + 2;
                    } else {
                        break at;
                    }
                }
                None => break n, // unterminated: take the rest
            }
        };
        let field = if escaped {
            Field::Escaped(s, e)
        } else {
            Field::Plain(s, e)
        };
        // After the closing quote: delimiter, newline or end. Stray text is skipped.
        let mut r = (e + 1).min(n);
        while r < n && buf[r] != delim && buf[r] != b'\n' {
            r += 1;
        }
        if r >= n {
            (field, None, None)
        } else if buf[r] == delim {
            (field, Some(r + 1), None)
        } else {
            (field, None, Some(r + 1))
        }
    } else {
        let mut r = p;
        while r < n && buf[r] != delim && buf[r] != b'\n' {
            r += 1;
        }
        let mut e = r;
        if e > p && buf[e - 1] == b'\r' && (r >= n || buf[r] == b'\n') {
            e -= 1;
        }
        let field = Field::Plain(p, e);
        if r >= n {
            (field, None, None)
        } else if buf[r] == delim {
            (field, Some(r + 1), None)
        } else {
            (field, None, Some(r + 1))
        }
    }
}

struct RowSpec {
    cols: [usize; 3],
    names: [String; 3],
    delim: u8,
    skip_bad: bool,
    /// Accumulate per-customer totals of days ≤ `up_to` instead of keeping rows.
    totals: bool,
    up_to: i32,
}

struct ChunkResult {
    seq: u64,
    worker: usize,
    bytes: usize,
    lines: u64,
    customer: Vec<u32>,
    day: Vec<i32>,
    amount: Vec<i64>,
    /// Lines relative to the chunk (first line of the chunk = 1).
    errors: Vec<RowError>,
}

fn parse_chunk(
    buf: &[u8],
    seq: u64,
    worker: usize,
    spec: &RowSpec,
    totals: &mut WorkerTotals,
) -> ChunkResult {
    let est = if spec.totals { 0 } else { buf.len() / 24 + 16 };
    let mut out = ChunkResult {
        seq,
        worker,
        bytes: buf.len(),
        lines: 0,
        customer: Vec::with_capacity(est),
        day: Vec::with_capacity(est),
        amount: Vec::with_capacity(est),
        errors: Vec::new(),
    };
    let [ci, di, ai] = spec.cols;
    let max_col = ci.max(di).max(ai);
    let n = buf.len();
    let mut p = 0;
    // Incremental line counting, only needed when reporting an error.
    let mut counted_pos = 0usize;
    let mut counted_lines = 1u64;
    // Rows whose key lookups are done together (see `flush`).
    let mut batch: Vec<Pending> = Vec::with_capacity(BATCH_ROWS);
    // Delimiters, newlines and quotes, found 64 bytes at a time.
    let mut st = Structurals::new(buf, spec.delim);
    // Newlines in the chunk, counted as the records end.
    let mut lines = 0u64;
    while p < n {
        let rec_start = p;
        // Blank line (or a lone \r\n).
        if buf[p] == b'\n' || (buf[p] == b'\r' && p + 1 < n && buf[p + 1] == b'\n') {
            p += if buf[p] == b'\n' { 1 } else { 2 };
            lines += 1;
            st.seek(p);
            continue;
        }
        let mut fields = [Field::Plain(0, 0), Field::Plain(0, 0), Field::Plain(0, 0)];
        let mut found = 0u8;
        let mut col = 0usize;
        let mut q = p;
        let mut rec_end = n;
        // Fast path: jump from delimiter to delimiter of a line without
        // quotes; a quote among the columns read sends the line to the
        // general path.
        let mut quoted = false;
        let mut c = 0usize;
        let mut fstart = p;
        loop {
            let i = st.next();
            if i == n || buf[i] == b'\n' {
                let fend = if i > fstart && buf[i - 1] == b'\r' {
                    i - 1
                } else {
                    i
                };
                let f = Field::Plain(fstart, fend);
                if c == ci {
                    fields[0] = f;
                    found |= 1;
                } else if c == di {
                    fields[1] = f;
                    found |= 2;
                } else if c == ai {
                    fields[2] = f;
                    found |= 4;
                }
                rec_end = (i + 1).min(n);
                lines += u64::from(i < n);
                break;
            }
            if buf[i] == spec.delim {
                let f = Field::Plain(fstart, i);
                if c == ci {
                    fields[0] = f;
                    found |= 1;
                } else if c == di {
                    fields[1] = f;
                    found |= 2;
                } else if c == ai {
                    fields[2] = f;
                    found |= 4;
                }
                c += 1;
                fstart = i + 1;
            } else if c > max_col {
                // A quote in a column not read: skip to the record's end.
                rec_end = skip_rest(buf, fstart);
                lines += memchr_iter(b'\n', &buf[rec_start..rec_end]).count() as u64;
                st.seek(rec_end);
                break;
            } else {
                quoted = true;
                found = 0;
                break;
            }
        }
        // A line with quotes: the general, quote-aware field splitter.
        if quoted {
            loop {
                let (f, next, after_nl) = next_field(buf, q, spec.delim);
                if col == ci {
                    fields[0] = f;
                    found |= 1;
                } else if col == di {
                    fields[1] = f;
                    found |= 2;
                } else if col == ai {
                    fields[2] = f;
                    found |= 4;
                }
                match (next, after_nl) {
                    (Some(nx), _) => {
                        col += 1;
                        q = nx;
                        if col > max_col {
                            rec_end = skip_rest(buf, q);
                            break;
                        }
                    }
                    (None, Some(after)) => {
                        rec_end = after;
                        break;
                    }
                    (None, None) => {
                        rec_end = n;
                        break;
                    }
                }
            }
            lines += memchr_iter(b'\n', &buf[rec_start..rec_end]).count() as u64;
            st.seek(rec_end);
        }
        p = rec_end;
        let mut fail = |col: usize, reason: String, out: &mut ChunkResult| {
            counted_lines += memchr_iter(b'\n', &buf[counted_pos..rec_start]).count() as u64;
            counted_pos = rec_start;
            out.errors.push(RowError {
                line: counted_lines,
                column: spec.names[col].clone(),
                reason,
            });
        };
        if found != 7 {
            let missing = if found & 1 == 0 {
                0
            } else if found & 2 == 0 {
                1
            } else {
                2
            };
            fail(
                missing,
                "missing field (row has too few columns)".into(),
                &mut out,
            );
            if spec.skip_bad {
                continue;
            } else {
                break;
            }
        }
        let scratch: Vec<u8>;
        let key: &[u8] = match &fields[0] {
            Field::Plain(s, e) => crate::date::trim(&buf[*s..*e]),
            Field::Escaped(s, e) => {
                scratch = unescape(&buf[*s..*e]);
                crate::date::trim(&scratch)
            }
        };
        if key.is_empty() {
            fail(0, "empty customer id".into(), &mut out);
            if spec.skip_bad {
                continue;
            } else {
                break;
            }
        }
        let slice = |f: &Field| match *f {
            Field::Plain(s, e) | Field::Escaped(s, e) => &buf[s..e],
        };
        let day = match parse_date(slice(&fields[1])) {
            Ok(d) => d,
            Err(reason) => {
                let shown = String::from_utf8_lossy(slice(&fields[1])).into_owned();
                fail(1, format!("{reason}: {shown:?}"), &mut out);
                if spec.skip_bad {
                    continue;
                } else {
                    break;
                }
            }
        };
        let amount = match parse_amount_fen(slice(&fields[2])) {
            Ok(a) => a,
            Err(reason) => {
                let shown = String::from_utf8_lossy(slice(&fields[2])).into_owned();
                fail(2, format!("{reason}: {shown:?}"), &mut out);
                if spec.skip_bad {
                    continue;
                } else {
                    break;
                }
            }
        };
        if !key.is_ascii() && std::str::from_utf8(key).is_err() {
            fail(
                0,
                "customer id is not UTF-8 (the file must be UTF-8)".into(),
                &mut out,
            );
            if spec.skip_bad {
                continue;
            } else {
                break;
            }
        }
        let hash = hash_key(key);
        if let Field::Escaped(s, _) = fields[0] {
            // The key lives in `scratch`: look it up now, after the rows before it.
            flush(&mut batch, buf, spec, totals, &mut out);
            let at = (seq << 40) | s as u64;
            add_row(key, hash, day, amount, at, spec, totals, &mut out);
        } else {
            let start = key.as_ptr() as usize - buf.as_ptr() as usize;
            batch.push(Pending {
                start,
                len: key.len(),
                hash,
                day,
                amount,
            });
            if batch.len() == BATCH_ROWS {
                flush(&mut batch, buf, spec, totals, &mut out);
            }
        }
    }
    flush(&mut batch, buf, spec, totals, &mut out);
    out.lines = lines;
    out
}

const BATCH_ROWS: usize = 32;

/// A parsed row waiting for its key lookup.
struct Pending {
    start: usize,
    len: usize,
    hash: u64,
    day: i32,
    amount: i64,
}

/// Looks up a batch of keys: first touching every key's slot, so the cache
/// misses of the batch overlap instead of coming one after another (the
/// table is far larger than the cache), then doing the lookups in order.
fn flush(
    batch: &mut Vec<Pending>,
    buf: &[u8],
    spec: &RowSpec,
    totals: &mut WorkerTotals,
    out: &mut ChunkResult,
) {
    for p in batch.iter() {
        totals.table.touch(p.hash);
    }
    let seq = out.seq << 40;
    for p in batch.drain(..) {
        add_row(
            &buf[p.start..p.start + p.len],
            p.hash,
            p.day,
            p.amount,
            seq | p.start as u64,
            spec,
            totals,
            out,
        );
    }
}

/// Adds one row: to the thread's totals, or to the chunk's rows. `at` is
/// where the row is in the file (see [`WorkerTotals::first`]).
#[allow(clippy::too_many_arguments)]
#[inline]
fn add_row(
    key: &[u8],
    hash: u64,
    day: i32,
    amount: i64,
    at: u64,
    spec: &RowSpec,
    totals: &mut WorkerTotals,
    out: &mut ChunkResult,
) {
    let (id, new, tot) = totals.table.entry(key, hash);
    if new {
        totals.first.push(at);
    }
    if spec.totals {
        // Purchases after the as-of date are not counted.
        if day <= spec.up_to {
            tot.last = if tot.count == 0 {
                day
            } else {
                tot.last.max(day)
            };
            tot.count += 1;
            tot.sum += amount;
            totals.rows += 1;
            totals.max_day = totals.max_day.max(Some(day));
        }
    } else {
        out.customer.push(id);
        out.day.push(day);
        out.amount.push(amount);
    }
}

/// Skips the remaining fields of a record, quote-aware; returns the next record start.
fn skip_rest(buf: &[u8], mut q: usize) -> usize {
    let mut in_quote = false;
    while let Some(i) = memchr2(b'"', b'\n', &buf[q..]) {
        let at = q + i;
        if buf[at] == b'"' {
            in_quote = !in_quote;
        } else if !in_quote {
            return at + 1;
        }
        q = at + 1;
    }
    buf.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::days_from_civil;

    fn read(s: &str, opts: &ReadOptions) -> Result<(Transactions, ReadReport)> {
        read_csv_from(s.as_bytes(), s.len() as u64, opts, &mut |_, _| {})
    }

    fn read_csv_totals_from(s: &str, opts: &ReadOptions, up_to: Option<i32>) -> CustomerTotals {
        let (_, t, _) = read_impl(
            s.as_bytes(),
            s.len() as u64,
            opts,
            &mut |_, _| {},
            Some(up_to),
        )
        .unwrap();
        t.unwrap()
    }

    #[test]
    fn reads_chinese_headers_bom_quotes_and_formats() {
        let csv = "\u{feff}客户编号,下单时间,商品,实付金额\r\n\
                   C001,2025-03-01 10:00:00,\"茶叶, 一斤\",\"¥1,234.50\"\r\n\
                   C002,20250302,x,99\r\n\
                   \r\n\
                   C001,2025/3/5,\"say \"\"hi\"\"\",0.5\r\n";
        let (tx, rep) = read(csv, &ReadOptions::default()).unwrap();
        assert_eq!(rep.rows, 3);
        assert_eq!(
            rep.columns,
            ["客户编号".to_string(), "下单时间".into(), "实付金额".into()]
        );
        assert_eq!(tx.customer_ids, vec!["C001", "C002"]);
        assert_eq!(tx.customer, vec![0, 1, 0]);
        assert_eq!(tx.amount_fen, vec![123_450, 9_900, 50]);
        assert_eq!(
            tx.day,
            vec![
                days_from_civil(2025, 3, 1),
                days_from_civil(2025, 3, 2),
                days_from_civil(2025, 3, 5)
            ]
        );
    }

    #[test]
    fn recognises_english_headers_and_given_columns() {
        let csv = "order_date,Customer ID,Amount\n2025-01-01,a,1\n";
        let (tx, _) = read(csv, &ReadOptions::default()).unwrap();
        assert_eq!(tx.customer_ids, vec!["a"]);
        let csv = "who,when,how much\n\"x\"\"y\",2025-01-01,2\n";
        let opts = ReadOptions {
            customer_col: Some("who".into()),
            date_col: Some("when".into()),
            amount_col: Some("how much".into()),
            ..Default::default()
        };
        let (tx, _) = read(csv, &opts).unwrap();
        assert_eq!(tx.customer_ids, vec!["x\"y"]);
        assert_eq!(tx.amount_fen, vec![200]);
        assert!(matches!(
            read(csv, &ReadOptions::default()),
            Err(AnalysisError::Header(_))
        ));
    }

    #[test]
    fn bad_row_stops_with_line_column_and_reason() {
        let csv = "客户编号,日期,金额\nA,2025-01-01,10\nB,2025-02-30,10\nC,2025-01-01,abc\n";
        match read(csv, &ReadOptions::default()) {
            Err(AnalysisError::Row(e)) => {
                assert_eq!(e.line, 3);
                assert_eq!(e.column, "日期");
                assert!(e.reason.contains("day out of range"), "{}", e.reason);
            }
            other => panic!("expected a row error, got {other:?}"),
        }
    }

    #[test]
    fn skip_bad_reports_every_skipped_row() {
        let csv = "客户编号,日期,金额\nA,2025-01-01,10\nB,2025-02-30,10\nC,2025-01-01,abc\n,2025-01-01,1\nD\nE,2025-01-02,\"1,000\"\n";
        let opts = ReadOptions {
            skip_bad: true,
            ..Default::default()
        };
        let (tx, rep) = read(csv, &opts).unwrap();
        assert_eq!(tx.customer_ids, vec!["A", "E"]);
        assert_eq!(tx.amount_fen, vec![1000, 100_000]);
        let got: Vec<(u64, &str)> = rep
            .skipped
            .iter()
            .map(|e| (e.line, e.column.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![(3, "日期"), (4, "金额"), (5, "客户编号"), (6, "日期")]
        );
    }

    #[test]
    fn totals_in_chunks_report_every_bad_row_at_its_line() {
        // Long and short lines, CRLF, blank lines, a quoted trailing column
        // and a quoted key, bad rows scattered over many small chunks.
        let mut s = String::from("customer_id,order_date,amount,note\r\n");
        let mut want_bad = Vec::new();
        let mut line = 1u64;
        for i in 0..60_000u64 {
            line += 1;
            let c = (i * 7919) % 9_973;
            let note = match i % 7 {
                0 => "\"a, \"\"quoted\"\" note\"".to_string(),
                1 => "x".repeat(90),
                _ => String::new(),
            };
            if i % 4_999 == 17 {
                s.push_str(&format!("c{c},2025-02-30,1.00,{note}\r\n"));
                want_bad.push((line, "order_date"));
            } else if i % 7_001 == 5 {
                s.push_str(&format!("c{c},2025-01-02,12.345,{note}\r\n"));
                want_bad.push((line, "amount"));
            } else if i % 9_001 == 3 {
                s.push_str(&format!("\"c{c}\"\"x\",2025-01-03,7\n\n"));
                line += 1;
            } else {
                s.push_str(&format!(
                    "c{c},2025-01-{:02},{}.{:02},{note}\n",
                    i % 28 + 1,
                    i % 500,
                    i % 100
                ));
            }
        }
        let opts = ReadOptions {
            skip_bad: true,
            buffer_bytes: 16 << 10,
            ..Default::default()
        };
        let (tx, rows_report) = read(&s, &opts).unwrap();
        let (_, t, report) = read_impl(
            s.as_bytes(),
            s.len() as u64,
            &opts,
            &mut |_, _| {},
            Some(None),
        )
        .unwrap();
        let t = t.unwrap();
        let got: Vec<(u64, &str)> = report
            .skipped
            .iter()
            .map(|e| (e.line, e.column.as_str()))
            .collect();
        assert_eq!(got, want_bad);
        assert_eq!(report.skipped, rows_report.skipped);
        assert_eq!(t, CustomerTotals::from_transactions(&tx, None));
        // Without the keys: the same totals, in some order.
        let no_ids = ReadOptions {
            customer_ids: false,
            ..opts.clone()
        };
        let (_, u, _) = read_impl(
            s.as_bytes(),
            s.len() as u64,
            &no_ids,
            &mut |_, _| {},
            Some(None),
        )
        .unwrap();
        let u = u.unwrap();
        assert!(u.customer_ids.is_empty());
        let sorted = |t: &CustomerTotals| {
            let mut v: Vec<(i32, u64, i64)> = (0..t.purchases.len())
                .map(|i| (t.last_day[i], t.purchases[i], t.amount_fen[i]))
                .collect();
            v.sort_unstable();
            v
        };
        assert_eq!(sorted(&u), sorted(&t));
        assert_eq!((u.rows, u.max_day), (t.rows, t.max_day));
        // Without skip_bad the first bad row stops the read, at its line.
        let strict = ReadOptions {
            skip_bad: false,
            ..opts
        };
        match read_impl(
            s.as_bytes(),
            s.len() as u64,
            &strict,
            &mut |_, _| {},
            Some(None),
        ) {
            Err(AnalysisError::Row(e)) => assert_eq!((e.line, e.column.as_str()), want_bad[0]),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("a bad row must stop the read"),
        }
    }

    #[test]
    fn many_chunks_agree_with_a_single_thread() {
        // Big enough for several chunks, with quoted newlines crossing chunk cuts.
        let mut s = String::from("customer_id,order_date,amount,note\n");
        let mut want_sum = 0i64;
        for i in 0..120_000u64 {
            let c = (i * 7919 + 12_345) % 50_021;
            let amt = (i % 1000) as i64 * 3 + 1;
            want_sum += amt;
            let note = if i % 1000 == 0 {
                "\"multi\nline, note\""
            } else {
                "n"
            };
            s.push_str(&format!(
                "c{c},2025-01-{:02},{}.{:02},{note}\n",
                i % 28 + 1,
                amt / 100,
                amt % 100
            ));
        }
        let small = ReadOptions {
            buffer_bytes: 64 << 10,
            ..Default::default()
        };
        let one = read(
            &s,
            &ReadOptions {
                threads: 1,
                ..Default::default()
            },
        )
        .unwrap()
        .0;
        let two = read(&s, &small).unwrap().0;
        assert!(s.len() > 40 * small.buffer_bytes);
        assert_eq!(one, two);
        assert_eq!(two.len(), 120_000);
        assert_eq!(two.customer_count(), 50_021);
        assert_eq!(two.amount_fen.iter().sum::<i64>(), want_sum);
        // Totals read straight from the file equal totals of the table, with
        // and without an as-of cut.
        for up_to in [None, Some(crate::date::days_from_civil(2025, 1, 14))] {
            let t = read_csv_totals_from(&s, &small, up_to);
            let want = CustomerTotals::from_transactions(&two, up_to);
            assert_eq!(t, want);
        }
        // An error deep in the file reports the right line.
        let cut = s
            .match_indices('\n')
            .nth(70_000)
            .map(|(i, _)| i + 1)
            .unwrap();
        let date_at = cut + s[cut..].find(",2025-01-").unwrap() + 9;
        let bad = format!("{}99{}", &s[..date_at], &s[date_at + 2..]);
        let e = read(&bad, &small).unwrap_err();
        let first = bad.find("2025-01-99").unwrap();
        let want_line = bad[..first].matches('\n').count() as u64 + 1;
        match e {
            AnalysisError::Row(e) => assert_eq!(e.line, want_line),
            e => panic!("{e}"),
        }
    }
}
