//! The one page-cursor format of every paged list (trip history, controllers' invalidations):
//! `<ms>.<number>`, a time in milliseconds and the ticket number that orders ties. Clients
//! hand back the `next` they were given; history cursors written `<ms>-<number>` before are
//! still read.

use domain::ErrorCode;

use crate::ServiceError;

/// Where a page ends: after (or before, for lists newest first) this time and ticket number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageCursor {
    pub at_ms: i64,
    pub number: i64,
}

impl PageCursor {
    /// Reads what [`PageCursor::render`] writes.
    pub fn parse(text: &str) -> Result<PageCursor, ServiceError> {
        let bad = || {
            ServiceError::new(
                ErrorCode::BadRequest,
                format!("cursor `{text}`: pass the `next` of the previous page"),
            )
        };
        let (at, number) = text
            .split_once('.')
            .or_else(|| text.split_once('-'))
            .ok_or_else(bad)?;
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(at) || !digits(number) {
            return Err(bad());
        }
        Ok(PageCursor {
            at_ms: at.parse().map_err(|_| bad())?,
            number: number.parse().map_err(|_| bad())?,
        })
    }

    pub fn render(&self) -> String {
        format!("{}.{}", self.at_ms, self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_old_history_cursors_still_read() {
        let cursor = PageCursor {
            at_ms: 1_700_000_000_123,
            number: 42,
        };
        assert_eq!(PageCursor::parse(&cursor.render()).unwrap(), cursor);
        assert_eq!(cursor.render(), "1700000000123.42");
        assert_eq!(PageCursor::parse("1700000000123-42").unwrap(), cursor);
        for bad in ["", "1", "1.", ".2", "a.b", "1.2.3", "-1.2", "1.-2", "1e3.4"] {
            assert!(PageCursor::parse(bad).is_err(), "{bad}");
        }
    }
}
