//! A versioned, checksummed envelope for saved engines.
//!
//! Every file written by [`save`] (and every buffer from [`to_bytes`]) has this layout, all
//! integers little-endian:
//!
//! | offset | size | content                                              |
//! |-------:|-----:|------------------------------------------------------|
//! | 0      | 8    | magic bytes `RAPPORT\0`                               |
//! | 8      | 4    | format version, `u32` ([`FORMAT_VERSION`])            |
//! | 12     | 8    | payload length in bytes, `u64`                        |
//! | 20     | 4    | CRC-32 (IEEE, as computed by `crc32fast`) of the payload |
//! | 24     | n    | payload: the value in bincode 2 `standard()` encoding |
//!
//! Reading checks, in this order, and never panics:
//!
//! 1. fewer than 8 bytes, or 8 bytes that are not the magic → [`Error::NotAModel`] (a file too
//!    short to carry the magic, the empty file included, cannot be identified as ours);
//! 2. the magic followed by less than the rest of the 24-byte header →
//!    [`Error::Corrupted`] (`truncated header`);
//! 3. a version newer than [`FORMAT_VERSION`] → [`Error::UnsupportedVersion`]; version 0 →
//!    [`Error::Corrupted`];
//! 4. a declared payload length different from the bytes that follow the header →
//!    [`Error::Corrupted`] naming `truncated` or `trailing bytes`. The declared length is only
//!    compared, never used to allocate;
//! 5. a CRC mismatch → [`Error::Corrupted`] (`checksum mismatch`);
//! 6. a payload that does not decode, or decodes without consuming every byte →
//!    [`Error::Corrupted`]. Decoding runs under a byte limit derived from the real payload
//!    size, so a forged length prefix inside the payload cannot trigger a huge allocation.
//!
//! [`save`] writes atomically: the envelope goes to a temporary file in the target's directory,
//! is flushed to disk, then renamed over the target. A crash leaves either the old file or the
//! new one, never a mix.

use crate::error::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The magic bytes every rapport file starts with.
pub const MAGIC: [u8; 8] = *b"RAPPORT\x00";

/// The envelope format version this build writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// Size of the fixed header (magic, version, length, checksum) in bytes.
pub const HEADER_LEN: usize = 8 + 4 + 8 + 4;

/// Serialises `value` into a complete envelope (header and payload).
pub fn to_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let payload = bincode::serde::encode_to_vec(value, bincode::config::standard())
        .map_err(|e| Error::Serialize(e.to_string()))?;
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Reads a value back from an envelope made by [`to_bytes`] or [`save`].
///
/// See the [module documentation](self) for the checks and the error each failure gives.
pub fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let payload = check_envelope(bytes)?;
    decode_payload(payload)
}

/// Validates the header and checksum; returns the payload slice.
fn check_envelope(bytes: &[u8]) -> Result<&[u8]> {
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        return Err(Error::NotAModel);
    }
    if bytes.len() < HEADER_LEN {
        return Err(Error::Corrupted(format!(
            "truncated header: {} of {HEADER_LEN} bytes",
            bytes.len()
        )));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version > FORMAT_VERSION {
        return Err(Error::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if version == 0 {
        return Err(Error::Corrupted("format version 0".into()));
    }
    let declared = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    let crc = u32::from_le_bytes(bytes[20..24].try_into().expect("4 bytes"));
    let payload = &bytes[HEADER_LEN..];
    let actual = payload.len() as u64;
    if declared > actual {
        return Err(Error::Corrupted(format!(
            "truncated: header declares {declared} payload bytes, {actual} present"
        )));
    }
    if declared < actual {
        return Err(Error::Corrupted(format!(
            "{} trailing bytes after the {declared}-byte payload",
            actual - declared
        )));
    }
    if crc32fast::hash(payload) != crc {
        return Err(Error::Corrupted("checksum mismatch".into()));
    }
    Ok(payload)
}

/// Reads a trailing field of a saved value that files written before the field existed do not
/// have (e.g. [`crate::Engine`]'s greeting state and blend settings). Such files end right
/// before the field: in the binary format (whose payload is CRC-checked before decoding) the
/// missing field reads as its default, so older files keep loading. Self-describing formats
/// (JSON) report errors as usual and use `#[serde(default)]` for a missing field.
pub(crate) fn trailing_or_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + Default,
{
    if d.is_human_readable() {
        T::deserialize(d)
    } else {
        Ok(T::deserialize(d).unwrap_or_default())
    }
}

/// Serialises a hash map with its entries in key order (hash maps iterate in a per-instance
/// random order), so that equal values give equal bytes: a loaded and re-saved engine writes
/// the file it was read from. The encoding is an ordinary map; reading needs nothing special.
pub(crate) fn sorted_map<S, V>(
    map: &hashbrown::HashMap<String, V>,
    s: S,
) -> std::result::Result<S::Ok, S::Error>
where
    S: serde::Serializer,
    V: Serialize,
{
    Sorted(map).serialize(s)
}

/// [`sorted_map`] for a map of maps: both levels in key order.
pub(crate) fn sorted_nested_map<S, V>(
    map: &hashbrown::HashMap<String, hashbrown::HashMap<String, V>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error>
where
    S: serde::Serializer,
    V: Serialize,
{
    s.collect_map(sorted_keys(map).into_iter().map(|k| (k, Sorted(&map[k]))))
}

/// The keys in order. Sorting only the (`&String`) keys keeps one sort routine for every value
/// type, which matters for the size of the WASM module.
fn sorted_keys<V>(map: &hashbrown::HashMap<String, V>) -> Vec<&String> {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_unstable();
    keys
}

struct Sorted<'a, V>(&'a hashbrown::HashMap<String, V>);

impl<V: Serialize> Serialize for Sorted<'_, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_map(sorted_keys(self.0).into_iter().map(|k| (k, &self.0[k])))
    }
}

/// Upper bound of the bytes bincode may claim for `n` payload bytes: every encoded byte claims at
/// most 16 (a `u128` varint), strings and byte buffers claim exactly their length.
const CLAIM_PER_BYTE: usize = 16;

const fn tier(shift: u32) -> usize {
    if shift < usize::BITS {
        1 << shift
    } else {
        usize::MAX
    }
}

fn decode_payload<T: DeserializeOwned>(payload: &[u8]) -> Result<T> {
    use bincode::config::standard;
    let budget = payload.len().saturating_mul(CLAIM_PER_BYTE);
    // bincode's limit is a const parameter: pick the smallest tier that fits the real size, so
    // a forged length inside the payload is refused before anything is allocated for it.
    macro_rules! decode_tiers {
        ($($shift:literal),*) => {
            $(
                if budget <= tier($shift) {
                    return finish(
                        bincode::serde::decode_from_slice(
                            payload,
                            standard().with_limit::<{ tier($shift) }>(),
                        ),
                        payload.len(),
                    );
                }
            )*
        };
    }
    decode_tiers!(16, 20, 24, 28, 32, 36, 40, 44);
    finish(
        bincode::serde::decode_from_slice(payload, standard().with_limit::<{ tier(63) }>()),
        payload.len(),
    )
}

fn finish<T>(
    res: std::result::Result<(T, usize), bincode::error::DecodeError>,
    len: usize,
) -> Result<T> {
    match res {
        Ok((value, used)) if used == len => Ok(value),
        Ok((_, used)) => Err(Error::Corrupted(format!(
            "payload decoded from {used} of {len} bytes"
        ))),
        Err(e) => Err(Error::Corrupted(format!("payload does not decode: {e}"))),
    }
}

/// Saves `value` to `path` atomically (temporary file in the same directory, flushed to disk,
/// then renamed over `path`).
///
/// Errors: [`Error::Io`] carrying `path` when the directory is missing or not writable (the
/// temporary file is removed then), [`Error::InvalidArgument`] when `path` names no file,
/// [`Error::Serialize`] when the value cannot be encoded.
pub fn save<T: Serialize + ?Sized>(value: &T, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let bytes = to_bytes(value)?;
    let tmp = temp_path(path)?;
    let written = write_synced(&tmp, &bytes).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io_at(path, e));
    }
    sync_parent(path);
    Ok(())
}

/// Loads a value saved by [`save`].
///
/// Errors: [`Error::Io`] carrying `path` when the file cannot be read, otherwise those of
/// [`from_bytes`].
pub fn load<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<T> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|e| Error::io_at(path, e))?;
    from_bytes(&bytes)
}

/// `<dir>/.<name>.tmp-<pid>-<n>`: same directory as the target (so the rename stays on one file
/// system), unique per process and call.
fn temp_path(path: &Path) -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        Error::InvalidArgument(format!("{} does not name a file", path.display()))
    })?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}-{n}", std::process::id()));
    Ok(path.with_file_name(tmp_name))
}

fn write_synced(tmp: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f: File = OpenOptions::new().write(true).create_new(true).open(tmp)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Flushes the directory entry of the rename, where the platform allows opening directories.
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Sample {
        name: String,
        small: Vec<u64>,
        weights: Vec<f32>,
        tag: Option<u128>,
    }

    fn sample() -> Sample {
        Sample {
            name: "shop model".into(),
            // varint-encoded as one byte each while claiming eight: must stay under the limit
            small: (0..200).map(|i| i % 7).collect(),
            weights: vec![0.5, -1.25, 3.0],
            tag: Some(7),
        }
    }

    fn corrupted(r: Result<Sample>, needle: &str) {
        match r {
            Err(Error::Corrupted(m)) => assert!(m.contains(needle), "{m:?} lacks {needle:?}"),
            other => panic!("expected Corrupted({needle}), got {other:?}"),
        }
    }

    /// An envelope around an arbitrary payload, with a correct header and checksum.
    fn envelope(payload: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn round_trips_bytes() {
        let bytes = to_bytes(&sample()).unwrap();
        assert_eq!(&bytes[..8], b"RAPPORT\0");
        assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 1);
        let len = u64::from_le_bytes(bytes[12..20].try_into().unwrap());
        assert_eq!(len as usize, bytes.len() - HEADER_LEN);
        assert_eq!(from_bytes::<Sample>(&bytes).unwrap(), sample());
    }

    #[test]
    fn round_trips_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.rapport");
        save(&sample(), &path).unwrap();
        assert_eq!(load::<Sample>(&path).unwrap(), sample());
    }

    #[test]
    fn rejects_truncation_anywhere() {
        let bytes = to_bytes(&sample()).unwrap();
        let n = bytes.len();
        for cut in [8, 9, 12, 20, 23] {
            corrupted(from_bytes(&bytes[..cut]), "truncated header");
        }
        for cut in [HEADER_LEN, HEADER_LEN + 1, n / 2, n - 1] {
            corrupted(from_bytes(&bytes[..cut]), "truncated");
        }
        for cut in [0, 1, 7] {
            assert!(matches!(
                from_bytes::<Sample>(&bytes[..cut]),
                Err(Error::NotAModel)
            ));
        }
    }

    #[test]
    fn rejects_flipped_payload_byte() {
        let mut bytes = to_bytes(&sample()).unwrap();
        let mid = HEADER_LEN + (bytes.len() - HEADER_LEN) / 2;
        bytes[mid] ^= 0x40;
        corrupted(from_bytes(&bytes), "checksum mismatch");
        let mut bytes = to_bytes(&sample()).unwrap();
        bytes[21] ^= 1; // the stored checksum itself
        corrupted(from_bytes(&bytes), "checksum mismatch");
    }

    #[test]
    fn rejects_foreign_files() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
        let random: Vec<u8> = (0..300u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for foreign in [&png[..], &[][..], &random[..], b"RAPPORX\0whatever-follows"] {
            assert!(matches!(
                from_bytes::<Sample>(foreign),
                Err(Error::NotAModel)
            ));
        }
    }

    #[test]
    fn rejects_newer_and_zero_versions() {
        let mut bytes = to_bytes(&sample()).unwrap();
        bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
        assert!(matches!(
            from_bytes::<Sample>(&bytes),
            Err(Error::UnsupportedVersion {
                found: 2,
                supported: 1
            })
        ));
        bytes[8..12].copy_from_slice(&0u32.to_le_bytes());
        corrupted(from_bytes(&bytes), "version 0");
    }

    #[test]
    fn rejects_trailing_garbage() {
        let mut bytes = to_bytes(&sample()).unwrap();
        bytes.extend_from_slice(b"xyz");
        corrupted(from_bytes(&bytes), "3 trailing bytes");
    }

    #[test]
    fn huge_declared_length_is_only_compared() {
        let mut bytes = to_bytes(&sample()).unwrap();
        bytes[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
        corrupted(from_bytes(&bytes), "truncated");
    }

    #[test]
    fn payload_must_decode_completely() {
        // valid envelope, payload of a different type: a u8 where a Sample is expected
        corrupted(from_bytes(&envelope(&[3])), "does not decode");
        // one value followed by an extra byte inside the checksummed payload
        let mut payload =
            bincode::serde::encode_to_vec(sample(), bincode::config::standard()).expect("encodes");
        payload.push(0);
        corrupted(from_bytes(&envelope(&payload)), "decoded from");
    }

    #[test]
    fn forged_string_length_does_not_allocate() {
        // a string whose varint length prefix claims u64::MAX bytes, with a valid checksum
        let mut payload = vec![253u8];
        payload.extend_from_slice(&u64::MAX.to_le_bytes());
        let r = from_bytes::<String>(&envelope(&payload));
        assert!(matches!(r, Err(Error::Corrupted(_))), "{r:?}");
        let mut payload = vec![252u8];
        payload.extend_from_slice(&(1u32 << 31).to_le_bytes());
        let r = from_bytes::<Vec<u8>>(&envelope(&payload));
        assert!(matches!(r, Err(Error::Corrupted(_))), "{r:?}");
    }

    #[test]
    fn save_replaces_atomically_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.rapport");
        fs::write(&path, b"old contents").unwrap();
        save(&sample(), &path).unwrap();
        assert_eq!(load::<Sample>(&path).unwrap(), sample());
        let other = Sample {
            name: "second".into(),
            ..sample()
        };
        save(&other, &path).unwrap();
        assert_eq!(load::<Sample>(&path).unwrap(), other);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("model.rapport")]);
    }

    #[test]
    fn save_into_missing_directory_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/model.rapport");
        match save(&sample(), &path) {
            Err(Error::Io { path: Some(p), .. }) => assert_eq!(p, path),
            other => panic!("expected Io with path, got {other:?}"),
        }
        match load::<Sample>(&path) {
            Err(Error::Io { path: Some(p), .. }) => assert_eq!(p, path),
            other => panic!("expected Io with path, got {other:?}"),
        }
        assert!(matches!(
            save(&sample(), Path::new("/")),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn engine_survives_the_envelope() {
        use crate::engine::{Engine, EngineConfig, RecommendOptions};
        use crate::history::Purchase;
        use crate::time::Timestamp;
        let mut e = Engine::new(EngineConfig::default());
        for c in 0..8u32 {
            for p in 0..5u32 {
                if (c + p) % 3 != 0 {
                    e.record_purchase(&Purchase {
                        customer: format!("c{c}"),
                        product: format!("p{}", (p + c / 4 * 5)),
                        timestamp: Timestamp(i64::from(c * 10 + p) * 86_400),
                        quantity: 1.0,
                        unit_price: 2.0,
                        order: None,
                    })
                    .unwrap();
                }
            }
        }
        e.train().unwrap();
        // the engine's serde form rebuilds itself: no step after `from_bytes`
        let back: Engine = from_bytes(&to_bytes(&e).unwrap()).unwrap();
        let opts = RecommendOptions::default();
        assert_eq!(
            back.recommend("c1", &opts).unwrap(),
            e.recommend("c1", &opts).unwrap()
        );
        assert_eq!(back.history().lines(), e.history().lines());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = from_bytes::<Sample>(&bytes);
            let _ = from_bytes::<String>(&bytes);
        }

        #[test]
        fn mutated_envelopes_never_panic(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
            cut in any::<usize>(),
            reseal in any::<bool>(),
        ) {
            let mut bytes = to_bytes(&sample()).unwrap();
            for (at, v) in edits {
                let i = at % bytes.len();
                bytes[i] = v;
            }
            bytes.truncate(HEADER_LEN + cut % (bytes.len() - HEADER_LEN + 1));
            if reseal {
                // fix length and checksum so the mutated payload reaches the decoder
                let payload = bytes[HEADER_LEN..].to_vec();
                bytes = envelope(&payload);
            }
            let _ = from_bytes::<Sample>(&bytes);
            let _ = from_bytes::<String>(&bytes);
        }
    }
}
