//! The one page-cursor format of every paged list (trip history, controllers' invalidations):
//! `<ms>.<number>`, a time in milliseconds and the ticket number that orders ties. Clients
//! hand back the `next` they were given; history cursors written `<ms>-<number>` before are
//! still read.

use domain::ErrorCode;
use domain::ticket::TicketNumber;

use crate::ServiceError;

/// Where a page ends: after (or before, for lists newest first) this time and ticket number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageCursor {
    pub at_ms: i64,
    pub number: TicketNumber,
}

impl PageCursor {
    /// Before every page of a list oldest first.
    pub const START: PageCursor = PageCursor {
        at_ms: 0,
        number: TicketNumber::LOWEST,
    };

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
            number: number
                .parse::<u64>()
                .ok()
                .and_then(|n| TicketNumber::new(n).ok())
                .ok_or_else(bad)?,
        })
    }

    pub fn render(&self) -> String {
        format!("{}.{}", self.at_ms, self.number.value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_old_history_cursors_still_read() {
        let cursor = PageCursor {
            at_ms: 1_700_000_000_123,
            number: TicketNumber::new(42).unwrap(),
        };
        assert_eq!(PageCursor::parse(&cursor.render()).unwrap(), cursor);
        assert_eq!(cursor.render(), "1700000000123.42");
        assert_eq!(PageCursor::parse("1700000000123-42").unwrap(), cursor);
        let beyond = format!("1.{}", domain::ticket::TICKET_NUMBER_MAX + 1);
        for bad in [
            "", "1", "1.", ".2", "a.b", "1.2.3", "-1.2", "1.-2", "1e3.4", &beyond,
        ] {
            assert!(PageCursor::parse(bad).is_err(), "{bad}");
        }
    }
}
