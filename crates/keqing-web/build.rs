//! Embeds `assets/`: each file is gzip-compressed here, at build time, and a
//! table of (path, type, raw bytes, gzip bytes, ETag) is generated for lib.rs.

use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn mime(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "text/plain; charset=utf-8",
    }
}

/// FNV-1a: a content fingerprint for the ETag, not a security measure.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("assets");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets it"));
    println!("cargo:rerun-if-changed=assets");
    let mut list = vec![];
    files(&root, &mut list);
    list.sort();
    let mut table = String::from("static ASSETS: &[Asset] = &[\n");
    for (i, path) in list.iter().enumerate() {
        println!("cargo:rerun-if-changed={}", path.display());
        let rel = path
            .strip_prefix(&root)
            .expect("under assets/")
            .to_string_lossy()
            .replace('\\', "/");
        let raw = fs::read(path).expect("asset readable");
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&raw).expect("gzip in memory");
        let gz = gz.finish().expect("gzip in memory");
        let gz_expr = if gz.len() < raw.len() {
            let gz_path = out.join(format!("asset{i}.gz"));
            fs::write(&gz_path, &gz).expect("OUT_DIR writable");
            format!("Some(include_bytes!({:?}))", gz_path.display().to_string())
        } else {
            "None".to_string()
        };
        table.push_str(&format!(
            "    Asset {{ path: {rel:?}, mime: {:?}, raw: include_bytes!({:?}), gz: {gz_expr}, etag: \"\\\"{:016x}\\\"\" }},\n",
            mime(&rel),
            path.display().to_string(),
            fnv(&raw),
        ));
    }
    table.push_str("];\n");
    fs::write(out.join("assets.rs"), table).expect("OUT_DIR writable");
}
