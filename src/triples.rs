//! Weighted `user_id,item_id,weight` tables with string ids, as evaluation data sets ship them.

use crate::error::{Error, Result, check_weight};
use crate::ids::IdMap;
use crate::interactions::{Interactions, Triple};
use std::path::Path;

/// Interactions read from a CSV with `user_id` and `item_id` columns and an optional `weight`
/// column (1 when absent). Ids are kept as written, trimmed.
#[derive(Clone, Debug, Default)]
pub struct TripleCsv {
    users: IdMap,
    items: IdMap,
    triples: Vec<Triple>,
}

impl TripleCsv {
    /// Reads a file.
    pub fn read_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io_at(path, e))?;
        Self::read(file)
    }

    /// Reads from any reader. Errors name the line: a missing column, a bad or negative weight,
    /// an empty id, invalid UTF-8.
    pub fn read<R: std::io::Read>(reader: R) -> Result<Self> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(reader);
        let header = rdr.byte_headers().map_err(|e| csv_error(&e))?.clone();
        let col = |name: &str| header.iter().position(|h| trim_bom(h) == name.as_bytes());
        let missing = |c: &str| Error::MissingColumn {
            column: c.into(),
            available: header
                .iter()
                .map(|h| String::from_utf8_lossy(h).into_owned())
                .collect::<Vec<_>>()
                .join(","),
        };
        let u = col("user_id").ok_or_else(|| missing("user_id"))?;
        let i = col("item_id").ok_or_else(|| missing("item_id"))?;
        let w = col("weight");
        let mut out = TripleCsv::default();
        let mut rec = csv::ByteRecord::new();
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(csv_error(&e)),
            }
            let line = rec.position().map_or(0, |p| p.line());
            let field = |k: usize| -> Result<&str> {
                let raw = rec.get(k).unwrap_or_default();
                std::str::from_utf8(raw)
                    .map(str::trim)
                    .map_err(|_| Error::BadRow {
                        line,
                        message: "invalid UTF-8".into(),
                    })
            };
            let (user, item) = (field(u)?, field(i)?);
            if user.is_empty() || item.is_empty() {
                return Err(Error::BadRow {
                    line,
                    message: "empty user_id or item_id".into(),
                });
            }
            let weight = match w {
                Some(k) => {
                    let s = field(k)?;
                    let v: f64 = s.parse().map_err(|_| Error::BadRow {
                        line,
                        message: format!("weight {s:?} is not a number"),
                    })?;
                    // checked after the conversion: 1e39 is a finite f64 but an infinite f32
                    let v = v as f32;
                    check_weight("weight", f64::from(v)).map_err(|e| Error::BadRow {
                        line,
                        message: e.to_string(),
                    })?;
                    v
                }
                None => 1.0,
            };
            out.triples.push(Triple {
                user: out.users.intern(user),
                item: out.items.intern(item),
                weight,
            });
        }
        Ok(out)
    }

    /// The distinct values of the `user_id` column of a CSV file, in first-seen order.
    pub fn read_user_column(path: impl AsRef<Path>) -> Result<Vec<String>> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io_at(path, e))?;
        let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(file);
        let header = rdr.byte_headers().map_err(|e| csv_error(&e))?.clone();
        let u = header
            .iter()
            .position(|h| trim_bom(h) == b"user_id")
            .ok_or_else(|| Error::MissingColumn {
                column: "user_id".into(),
                available: header
                    .iter()
                    .map(|h| String::from_utf8_lossy(h).into_owned())
                    .collect::<Vec<_>>()
                    .join(","),
            })?;
        let mut seen = IdMap::new();
        let mut rec = csv::ByteRecord::new();
        while rdr.read_byte_record(&mut rec).map_err(|e| csv_error(&e))? {
            let line = rec.position().map_or(0, |p| p.line());
            let v =
                std::str::from_utf8(rec.get(u).unwrap_or_default()).map_err(|_| Error::BadRow {
                    line,
                    message: "invalid UTF-8".into(),
                })?;
            let v = v.trim();
            if !v.is_empty() {
                seen.intern(v);
            }
        }
        Ok(seen.names().to_vec())
    }

    /// The user ids.
    pub fn users(&self) -> &IdMap {
        &self.users
    }

    /// The item ids.
    pub fn items(&self) -> &IdMap {
        &self.items
    }

    /// The rows, with interned indices.
    pub fn triples(&self) -> &[Triple] {
        &self.triples
    }

    /// Number of rows read.
    pub fn len(&self) -> usize {
        self.triples.len()
    }

    /// True when no row was read.
    pub fn is_empty(&self) -> bool {
        self.triples.is_empty()
    }

    /// The users × items matrix (repeated pairs summed).
    pub fn matrix(&self) -> Result<Interactions> {
        Interactions::from_triples(self.users.len(), self.items.len(), &self.triples)
    }
}

fn trim_bom(h: &[u8]) -> &[u8] {
    let h = h.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h);
    h.trim_ascii()
}

fn csv_error(e: &csv::Error) -> Error {
    Error::BadRow {
        line: e.position().map_or(0, |p| p.line()),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_with_and_without_weight() {
        let t =
            TripleCsv::read("user_id,item_id,weight\nu1,a,2\nu2,b,1\nu1,a,1\n".as_bytes()).unwrap();
        assert_eq!(t.len(), 3);
        let m = t.matrix().unwrap();
        assert_eq!(m.get(0, 0), 3.0);
        let t = TripleCsv::read("\u{feff}item_id,user_id\na, u1\n".as_bytes()).unwrap();
        assert_eq!(t.users().name(0), "u1");
        assert_eq!(t.triples()[0].weight, 1.0);
    }

    #[test]
    fn bad_input_names_the_line() {
        let e = TripleCsv::read("user,item_id\n".as_bytes()).unwrap_err();
        assert!(
            matches!(e, Error::MissingColumn { ref column, .. } if column == "user_id"),
            "{e}"
        );
        for (body, line) in [
            ("user_id,item_id,weight\nu,a,1\nu,b,x\n", 3),
            ("user_id,item_id,weight\nu,a,-1\n", 2),
            ("user_id,item_id,weight\nu,a,NaN\n", 2),
            // finite as written, infinite as the f32 a weight is stored in
            ("user_id,item_id,weight\nu,a,1\nu,b,1e39\n", 3),
            ("user_id,item_id,weight\nu,a,inf\n", 2),
            ("user_id,item_id,weight\nu,,1\n", 2),
            ("user_id,item_id,weight\nu,a\n", 2),
        ] {
            match TripleCsv::read(body.as_bytes()) {
                Err(Error::BadRow { line: l, .. }) => assert_eq!(l, line, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        let bytes = b"user_id,item_id\nu\xff,a\n";
        assert!(matches!(
            TripleCsv::read(&bytes[..]),
            Err(Error::BadRow { line: 2, .. })
        ));
        assert!(TripleCsv::read("".as_bytes()).is_err());
        // the largest f32 is kept as it is
        let t = TripleCsv::read("user_id,item_id,weight\nu,a,3.4e38\n".as_bytes()).unwrap();
        assert_eq!(t.triples()[0].weight, 3.4e38);
    }
}
