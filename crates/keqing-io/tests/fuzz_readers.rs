//! Issue 23: whatever a user uploads as a CSV or a spreadsheet (arbitrary
//! bytes, near-valid CSV with stray quotes, delimiters and encodings, zips
//! with odd, broken or missing parts and sheets declaring impossible
//! dimensions), reading it never panics and never takes more than
//! [`CAP`] bytes of memory: it is read, or refused with an error. The memory
//! is counted by this binary's allocator. `PROPTEST_CASES` sets the cases
//! (a few dozen by default, for a CI run of seconds).

use keqing_io::testdata::xlsx;
use keqing_io::{
    import_customers, preview, read_table_bytes, ImportOptions, ReadOptions, RecordKind,
    PREVIEW_ROWS,
};
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

/// The most a read of these small inputs may allocate.
const CAP: usize = 256 << 20;
/// Past this the allocator refuses (the process aborts) rather than take
/// the machine: a reader asking for the 512 GiB of a declared dimension.
const HARD_CAP: usize = 2 << 30;

struct Counting;
static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

impl Counting {
    fn grow(&self, by: usize) -> bool {
        let now = NOW.fetch_add(by, Relaxed) + by;
        PEAK.fetch_max(now, Relaxed);
        if now > HARD_CAP {
            NOW.fetch_sub(by, Relaxed);
            return false;
        }
        true
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if !self.grow(l.size()) {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.alloc(l) };
        if p.is_null() {
            NOW.fetch_sub(l.size(), Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        NOW.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, size: usize) -> *mut u8 {
        if size > l.size() && !self.grow(size - l.size()) {
            return std::ptr::null_mut();
        }
        let q = unsafe { System.realloc(p, l, size) };
        if q.is_null() {
            if size > l.size() {
                NOW.fetch_sub(size - l.size(), Relaxed);
            }
        } else if size < l.size() {
            NOW.fetch_sub(l.size() - size, Relaxed);
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

static ONE: Mutex<()> = Mutex::new(());

/// Reads `bytes` as `name`, and imports and previews what it reads: the
/// most memory all of that took above what was allocated before.
fn read_all(bytes: &[u8], name: &str) -> usize {
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let before = NOW.load(Relaxed);
    PEAK.store(before, Relaxed);
    if let Ok(t) = read_table_bytes(bytes, name, &ReadOptions::default()) {
        let opts = ImportOptions::default();
        if let Ok(b) = import_customers(&t, &opts) {
            assert_eq!(b.records.len() + b.bad_rows() + b.blank_rows, b.data_rows);
        }
        let _ = preview(RecordKind::Customer, &t, &opts, PREVIEW_ROWS);
    }
    PEAK.load(Relaxed) - before
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(32),
        ..ProptestConfig::default()
    }
}

/// CSV pieces: quotes, delimiters, line breaks, GBK and invalid bytes,
/// byte-order marks, and runs long enough to reach the limits.
fn csv_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"\"".to_vec()),
        Just(b"\"\"".to_vec()),
        Just(b",".to_vec()),
        Just(b";".to_vec()),
        Just(b"\t".to_vec()),
        Just(b"|".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"\xFF\xFE".to_vec()),
        Just(b"\xFF".to_vec()),
        Just("客户名称".as_bytes().to_vec()),
        Just("甲公司".as_bytes().to_vec()),
        Just(encoding_rs::GBK.encode("乙公司").0.into_owned()),
        Just(b"13812345678".to_vec()),
        Just(b"\xE2\x80".to_vec()),
        (1usize..1100).prop_map(|n| b",".repeat(n)),
        (1usize..40_000).prop_map(|n| "长".repeat(n).into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..16),
    ]
}

/// A sheet's XML from pieces: rows and cells of every type, odd and huge
/// positions, declared dimensions, and junk.
fn sheet_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<row>".to_string()),
        Just("</row>".to_string()),
        (0u64..2_000_000).prop_map(|r| format!(r#"<row r="{r}">"#)),
        Just(r#"<dimension ref="A1:XFD1048576"/>"#.to_string()),
        Just(r#"<c t="inlineStr"><is><t>客户名称</t></is></c>"#.to_string()),
        Just(r#"<c t="inlineStr"><is><t>甲公司</t></is></c>"#.to_string()),
        Just(
            r#"<c t="inlineStr"><is><t>南京
鼓楼</t></is></c>"#
                .to_string()
        ),
        Just(r#"<c t="s"><v>0</v></c>"#.to_string()),
        Just(r#"<c t="s"><v>99</v></c>"#.to_string()),
        Just(r#"<c t="e"><v>#N/A</v></c>"#.to_string()),
        Just(r#"<c t="b"><v>1</v></c>"#.to_string()),
        Just(r#"<c s="0"><v>44000.5</v></c>"#.to_string()),
        Just(r#"<c t="str"><f>A1&amp;B1</f><v>x</v></c>"#.to_string()),
        Just(r#"<c><v>13812345678</v></c>"#.to_string()),
        Just(r#"<c r="XFD1048576"><v>1</v></c>"#.to_string()),
        ("[A-Z]{1,4}", 0u64..2_000_000).prop_map(|(c, r)| format!(r#"<c r="{c}{r}"><v>7</v></c>"#)),
        (1usize..300_000)
            .prop_map(|n| format!(r#"<c t="inlineStr"><is><t>{}</t></is></c>"#, "a".repeat(n))),
        "[<>/a-z=\" ]{0,12}",
    ]
}

/// A zip's parts: an XLSX's, some missing, broken or doubled, or random.
fn zip_file() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(sheet_piece(), 0..40),
        any::<bool>(),
        prop_oneof![
            Just(br#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>shared</t></si></sst>"#.to_vec()),
            Just(b"<sst><si><t>".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..64),
        ],
        proptest::option::of((any::<prop::sample::Index>(), any::<u8>())),
        proptest::option::of(any::<prop::sample::Index>()),
    )
        .prop_map(|(pieces, closed, sst, flip, cut)| {
            let mut sheet = format!("{}<sheetData>", xlsx::SHEET_START);
            sheet.push_str(&pieces.concat());
            if closed {
                sheet.push_str("</sheetData></worksheet>");
            }
            let mut zip = xlsx::build(&[(sheet.as_bytes(), 1)], &[(&sst, 1)]);
            // A byte changed, or the file cut short.
            if let Some((at, b)) = flip {
                let i = at.index(zip.len());
                zip[i] ^= b;
            }
            if let Some(at) = cut {
                zip.truncate(at.index(zip.len()));
            }
            zip
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_are_read_or_refused(
        bytes in proptest::collection::vec(any::<u8>(), 0..4096),
        name in prop_oneof![Just("x.csv"), Just("x.xlsx"), Just("x.txt"), Just("x")],
    ) {
        let peak = read_all(&bytes, name);
        prop_assert!(peak < CAP, "{peak} bytes");
    }

    #[test]
    fn near_valid_csv_is_read_or_refused(pieces in proptest::collection::vec(csv_piece(), 0..50)) {
        let mut bytes = "客户名称,电话,详细地址\n".as_bytes().to_vec();
        bytes.extend(pieces.concat());
        let peak = read_all(&bytes, "x.csv");
        prop_assert!(peak < CAP, "{peak} bytes");
    }

    #[test]
    fn odd_zips_are_read_or_refused(zip in zip_file(), name in prop_oneof![Just("x.xlsx"), Just("x.csv"), Just("x.ods")]) {
        let peak = read_all(&zip, name);
        prop_assert!(peak < CAP, "{peak} bytes");
    }
}

/// The bombs of the issue themselves, under the same cap.
#[test]
fn the_bombs_stay_under_the_cap() {
    for bytes in [
        xlsx::dimension_bomb(false),
        xlsx::dimension_bomb(true),
        xlsx::shared_string_bomb(8 << 20),
    ] {
        let peak = read_all(&bytes, "bomb.xlsx");
        assert!(peak < CAP, "{peak} bytes");
    }
}
