//! SMPP 3.4 PDUs on the wire: the header, the bodies a transceiver on a short number uses
//! (bind_transceiver, unbind, enquire_link, submit_sm, deliver_sm, generic_nack, their
//! responses) and optional TLVs, as a `tokio-util` codec. Shared by our ESME and the simulated
//! SMSC, so both sides of every test speak the same, fuzzed decoder.
//!
//! A frame whose length is impossible ends the connection (the stream cannot be resynchronised);
//! a frame of a sane length whose body does not parse is handed up as [`Frame::Malformed`], so
//! the session answers `generic_nack` and carries on.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// A PDU is never longer than this (the header's 16 bytes included); `message_payload` of a
/// long text stays well below it.
pub const PDU_BYTES_MAX: usize = 16 * 1024;
pub const HEADER_BYTES: usize = 16;

pub mod command {
    pub const GENERIC_NACK: u32 = 0x8000_0000;
    pub const BIND_RECEIVER: u32 = 0x0000_0001;
    pub const BIND_TRANSMITTER: u32 = 0x0000_0002;
    pub const SUBMIT_SM: u32 = 0x0000_0004;
    pub const SUBMIT_SM_RESP: u32 = 0x8000_0004;
    pub const DELIVER_SM: u32 = 0x0000_0005;
    pub const DELIVER_SM_RESP: u32 = 0x8000_0005;
    pub const UNBIND: u32 = 0x0000_0006;
    pub const UNBIND_RESP: u32 = 0x8000_0006;
    pub const BIND_TRANSCEIVER: u32 = 0x0000_0009;
    pub const BIND_TRANSCEIVER_RESP: u32 = 0x8000_0009;
    pub const ENQUIRE_LINK: u32 = 0x0000_0015;
    pub const ENQUIRE_LINK_RESP: u32 = 0x8000_0015;
}

/// `command_status` values we send or act on (SMPP 3.4 §5.1.3).
pub mod status {
    pub const OK: u32 = 0x0000_0000;
    pub const INVALID_MESSAGE_LENGTH: u32 = 0x0000_0001;
    pub const INVALID_COMMAND_LENGTH: u32 = 0x0000_0002;
    pub const INVALID_COMMAND_ID: u32 = 0x0000_0003;
    pub const INCORRECT_BIND_STATUS: u32 = 0x0000_0004;
    pub const ALREADY_BOUND: u32 = 0x0000_0005;
    pub const SYSTEM_ERROR: u32 = 0x0000_0008;
    pub const INVALID_DESTINATION: u32 = 0x0000_000B;
    pub const BIND_FAILED: u32 = 0x0000_000D;
    pub const INVALID_PASSWORD: u32 = 0x0000_000E;
    pub const INVALID_SYSTEM_ID: u32 = 0x0000_000F;
    pub const MESSAGE_QUEUE_FULL: u32 = 0x0000_0014;
    pub const THROTTLED: u32 = 0x0000_0058;
    /// ESME_RX_T_APPDN: "ESME receiver temporary app error" — the SMSC redelivers later.
    pub const RECEIVER_TEMPORARY_ERROR: u32 = 0x0000_0064;
    /// ESME_RX_P_APPDN: permanent, the SMSC does not redeliver.
    pub const RECEIVER_PERMANENT_ERROR: u32 = 0x0000_0065;
}

/// Optional parameter tags (SMPP 3.4 §5.3.2) we read or write.
pub mod tag {
    pub const RECEIPTED_MESSAGE_ID: u16 = 0x001E;
    pub const SAR_MSG_REF_NUM: u16 = 0x020C;
    pub const SAR_TOTAL_SEGMENTS: u16 = 0x020E;
    pub const SAR_SEGMENT_SEQNUM: u16 = 0x020F;
    pub const MESSAGE_PAYLOAD: u16 = 0x0424;
    pub const MESSAGE_STATE: u16 = 0x0427;
    /// Vendor-specific range: the simulated SMSC names each mobile-originated message here
    /// (real SMSCs use a tag of their own, configured per operator).
    pub const SIMULATOR_MESSAGE_ID: u16 = 0x1401;
}

/// `esm_class` bits.
pub const ESM_DELIVERY_RECEIPT: u8 = 0x04;
pub const ESM_UDHI: u8 = 0x40;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pdu {
    pub sequence: u32,
    pub status: u32,
    pub body: Body,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    BindTransceiver(Bind),
    BindTransceiverResp {
        system_id: String,
    },
    Unbind,
    UnbindResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    SubmitSm(ShortMessage),
    SubmitSmResp {
        message_id: String,
    },
    DeliverSm(ShortMessage),
    DeliverSmResp,
    /// A valid PDU of a kind we do not handle (bind_receiver, query_sm, …): answered with
    /// `generic_nack`/`INVALID_COMMAND_ID` by whoever receives it.
    Other {
        command_id: u32,
    },
}

impl Body {
    pub fn command_id(&self) -> u32 {
        use command::*;
        match self {
            Body::BindTransceiver(_) => BIND_TRANSCEIVER,
            Body::BindTransceiverResp { .. } => BIND_TRANSCEIVER_RESP,
            Body::Unbind => UNBIND,
            Body::UnbindResp => UNBIND_RESP,
            Body::EnquireLink => ENQUIRE_LINK,
            Body::EnquireLinkResp => ENQUIRE_LINK_RESP,
            Body::GenericNack => GENERIC_NACK,
            Body::SubmitSm(_) => SUBMIT_SM,
            Body::SubmitSmResp { .. } => SUBMIT_SM_RESP,
            Body::DeliverSm(_) => DELIVER_SM,
            Body::DeliverSmResp => DELIVER_SM_RESP,
            Body::Other { command_id } => *command_id,
        }
    }

    pub fn is_response(&self) -> bool {
        self.command_id() & 0x8000_0000 != 0
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bind {
    pub system_id: String,
    pub password: String,
    pub system_type: String,
    pub interface_version: u8,
    pub addr_ton: u8,
    pub addr_npi: u8,
    pub address_range: String,
}

/// The body of submit_sm and deliver_sm (they are the same fields).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShortMessage {
    pub service_type: String,
    pub source_ton: u8,
    pub source_npi: u8,
    pub source: String,
    pub destination_ton: u8,
    pub destination_npi: u8,
    pub destination: String,
    pub esm_class: u8,
    pub protocol_id: u8,
    pub priority: u8,
    pub schedule_delivery_time: String,
    pub validity_period: String,
    pub registered_delivery: u8,
    pub replace_if_present: u8,
    pub data_coding: u8,
    pub sm_default_msg_id: u8,
    pub short_message: Bytes,
    pub tlvs: Vec<Tlv>,
}

impl ShortMessage {
    pub fn tlv(&self, tag: u16) -> Option<&Bytes> {
        self.tlvs.iter().find(|t| t.tag == tag).map(|t| &t.value)
    }

    pub fn tlv_u8(&self, tag: u16) -> Option<u8> {
        self.tlv(tag).and_then(|v| v.first().copied())
    }

    pub fn tlv_u16(&self, tag: u16) -> Option<u16> {
        let value = self.tlv(tag)?;
        Some(u16::from_be_bytes([*value.first()?, *value.get(1)?]))
    }

    /// A C-octet string TLV (receipted_message_id), without its NUL.
    pub fn tlv_text(&self, tag: u16) -> Option<String> {
        let value = self.tlv(tag)?;
        let end = value.iter().position(|b| *b == 0).unwrap_or(value.len());
        Some(latin1(value.get(..end).unwrap_or_default()))
    }

    /// The message's octets: `short_message`, or `message_payload` when that carries it.
    pub fn payload(&self) -> &[u8] {
        match self.tlv(tag::MESSAGE_PAYLOAD) {
            Some(payload) if self.short_message.is_empty() => payload,
            _ => &self.short_message,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tlv {
    pub tag: u16,
    pub value: Bytes,
}

impl Tlv {
    pub fn new(tag: u16, value: impl Into<Bytes>) -> Tlv {
        Tlv {
            tag,
            value: value.into(),
        }
    }

    /// A C-octet string value (with its NUL).
    pub fn text(tag: u16, text: &str) -> Tlv {
        let mut value = text.as_bytes().to_vec();
        value.push(0);
        Tlv::new(tag, value)
    }
}

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum PduError {
    #[error("command_length {0} is outside 16..={PDU_BYTES_MAX}")]
    Length(u32),
    #[error("{field} is not a NUL-terminated string of at most {max} bytes")]
    CString { field: &'static str, max: usize },
    #[error("the body ends inside {0}")]
    Truncated(&'static str),
    #[error("{0} bytes left after the body")]
    Trailing(usize),
    #[error("a text field holds a byte outside ASCII")]
    NotAscii,
}

/// What the decoder hands up: a PDU, or a frame of sane length that did not parse (answer it
/// with `generic_nack` and go on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Pdu(Pdu),
    Malformed {
        command_id: u32,
        sequence: u32,
        error: PduError,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error(transparent)]
    Pdu(#[from] PduError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

#[derive(Clone, Copy, Debug, Default)]
pub struct SmppCodec;

impl Decoder for SmppCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        let Some(&[a, b, c, d]) = src.get(..4) else {
            return Ok(None);
        };
        let length = u32::from_be_bytes([a, b, c, d]);
        let length_usize = length as usize;
        if !(HEADER_BYTES..=PDU_BYTES_MAX).contains(&length_usize) {
            return Err(PduError::Length(length).into());
        }
        if src.len() < length_usize {
            src.reserve(length_usize - src.len());
            return Ok(None);
        }
        let frame = src.split_to(length_usize).freeze();
        Ok(Some(decode_frame(frame)))
    }
}

impl Encoder<Pdu> for SmppCodec {
    type Error = CodecError;

    fn encode(&mut self, pdu: Pdu, dst: &mut BytesMut) -> Result<(), CodecError> {
        let start = dst.len();
        dst.put_u32(0);
        dst.put_u32(pdu.body.command_id());
        dst.put_u32(pdu.status);
        dst.put_u32(pdu.sequence);
        encode_body(&pdu.body, dst);
        let length = dst.len() - start;
        if length > PDU_BYTES_MAX {
            dst.truncate(start);
            return Err(PduError::Length(u32::try_from(length).unwrap_or(u32::MAX)).into());
        }
        let bytes = u32::try_from(length).unwrap_or(u32::MAX).to_be_bytes();
        if let Some(slot) = dst.get_mut(start..start + 4) {
            slot.copy_from_slice(&bytes);
        }
        Ok(())
    }
}

/// Decodes one whole frame (its first 4 bytes are its length).
pub fn decode_frame(mut frame: Bytes) -> Frame {
    if frame.len() < HEADER_BYTES {
        return Frame::Malformed {
            command_id: 0,
            sequence: 0,
            error: PduError::Truncated("header"),
        };
    }
    frame.advance(4);
    let command_id = frame.get_u32();
    let status = frame.get_u32();
    let sequence = frame.get_u32();
    match decode_body(command_id, status, &mut frame) {
        Ok(body) if frame.is_empty() => Frame::Pdu(Pdu {
            sequence,
            status,
            body,
        }),
        Ok(_) => Frame::Malformed {
            command_id,
            sequence,
            error: PduError::Trailing(frame.len()),
        },
        Err(error) => Frame::Malformed {
            command_id,
            sequence,
            error,
        },
    }
}

fn decode_body(command_id: u32, status: u32, body: &mut Bytes) -> Result<Body, PduError> {
    use command::*;
    Ok(match command_id {
        BIND_TRANSCEIVER => Body::BindTransceiver(Bind {
            system_id: cstring(body, "system_id", 16)?,
            password: cstring(body, "password", 9)?,
            system_type: cstring(body, "system_type", 13)?,
            interface_version: octet(body, "interface_version")?,
            addr_ton: octet(body, "addr_ton")?,
            addr_npi: octet(body, "addr_npi")?,
            address_range: cstring(body, "address_range", 41)?,
        }),
        BIND_TRANSCEIVER_RESP => {
            // An error answer may carry no body at all; a good one may end in TLVs.
            let system_id = if body.is_empty() {
                String::new()
            } else {
                cstring(body, "system_id", 16)?
            };
            tlvs(body)?;
            Body::BindTransceiverResp { system_id }
        }
        UNBIND => Body::Unbind,
        UNBIND_RESP => Body::UnbindResp,
        ENQUIRE_LINK => Body::EnquireLink,
        ENQUIRE_LINK_RESP => Body::EnquireLinkResp,
        GENERIC_NACK => Body::GenericNack,
        SUBMIT_SM => Body::SubmitSm(short_message(body)?),
        DELIVER_SM => Body::DeliverSm(short_message(body)?),
        SUBMIT_SM_RESP => {
            let message_id = if body.is_empty() && status != status::OK {
                String::new()
            } else {
                cstring(body, "message_id", 65)?
            };
            Body::SubmitSmResp { message_id }
        }
        DELIVER_SM_RESP => {
            // message_id is unused and set to NULL; some SMSCs omit it.
            if !body.is_empty() {
                cstring(body, "message_id", 65)?;
            }
            Body::DeliverSmResp
        }
        other => {
            body.advance(body.len());
            Body::Other { command_id: other }
        }
    })
}

fn short_message(body: &mut Bytes) -> Result<ShortMessage, PduError> {
    let mut sm = ShortMessage {
        service_type: cstring(body, "service_type", 6)?,
        source_ton: octet(body, "source_addr_ton")?,
        source_npi: octet(body, "source_addr_npi")?,
        source: cstring(body, "source_addr", 21)?,
        destination_ton: octet(body, "dest_addr_ton")?,
        destination_npi: octet(body, "dest_addr_npi")?,
        destination: cstring(body, "destination_addr", 21)?,
        esm_class: octet(body, "esm_class")?,
        protocol_id: octet(body, "protocol_id")?,
        priority: octet(body, "priority_flag")?,
        schedule_delivery_time: cstring(body, "schedule_delivery_time", 17)?,
        validity_period: cstring(body, "validity_period", 17)?,
        registered_delivery: octet(body, "registered_delivery")?,
        replace_if_present: octet(body, "replace_if_present_flag")?,
        data_coding: octet(body, "data_coding")?,
        sm_default_msg_id: octet(body, "sm_default_msg_id")?,
        ..ShortMessage::default()
    };
    let length = usize::from(octet(body, "sm_length")?);
    if body.len() < length {
        return Err(PduError::Truncated("short_message"));
    }
    sm.short_message = body.split_to(length);
    sm.tlvs = tlvs(body)?;
    Ok(sm)
}

fn tlvs(body: &mut Bytes) -> Result<Vec<Tlv>, PduError> {
    let mut tlvs = Vec::new();
    while !body.is_empty() {
        if body.len() < 4 {
            return Err(PduError::Truncated("a TLV header"));
        }
        let tag = body.get_u16();
        let length = usize::from(body.get_u16());
        if body.len() < length {
            return Err(PduError::Truncated("a TLV value"));
        }
        tlvs.push(Tlv {
            tag,
            value: body.split_to(length),
        });
    }
    Ok(tlvs)
}

fn octet(body: &mut Bytes, field: &'static str) -> Result<u8, PduError> {
    if body.is_empty() {
        return Err(PduError::Truncated(field));
    }
    Ok(body.get_u8())
}

/// A C-octet string of at most `max` bytes with its NUL. Text fields of SMPP are ASCII.
fn cstring(body: &mut Bytes, field: &'static str, max: usize) -> Result<String, PduError> {
    let window = body.get(..max.min(body.len())).unwrap_or_default();
    let Some(end) = window.iter().position(|b| *b == 0) else {
        return Err(PduError::CString { field, max });
    };
    let text = body.split_to(end);
    body.advance(1);
    if !text.is_ascii() {
        return Err(PduError::NotAscii);
    }
    Ok(latin1(&text))
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|b| char::from(*b)).collect()
}

fn put_cstring(dst: &mut BytesMut, text: &str, max: usize) {
    // A field longer than SMPP allows is cut (callers validate addresses beforehand).
    let bytes = text.as_bytes();
    dst.put_slice(bytes.get(..bytes.len().min(max - 1)).unwrap_or_default());
    dst.put_u8(0);
}

fn encode_body(body: &Body, dst: &mut BytesMut) {
    match body {
        Body::BindTransceiver(bind) => {
            put_cstring(dst, &bind.system_id, 16);
            put_cstring(dst, &bind.password, 9);
            put_cstring(dst, &bind.system_type, 13);
            dst.put_u8(bind.interface_version);
            dst.put_u8(bind.addr_ton);
            dst.put_u8(bind.addr_npi);
            put_cstring(dst, &bind.address_range, 41);
        }
        Body::BindTransceiverResp { system_id } => put_cstring(dst, system_id, 16),
        Body::SubmitSm(sm) | Body::DeliverSm(sm) => encode_short_message(sm, dst),
        Body::SubmitSmResp { message_id } => put_cstring(dst, message_id, 65),
        Body::DeliverSmResp => dst.put_u8(0),
        Body::Unbind
        | Body::UnbindResp
        | Body::EnquireLink
        | Body::EnquireLinkResp
        | Body::GenericNack
        | Body::Other { .. } => {}
    }
}

fn encode_short_message(sm: &ShortMessage, dst: &mut BytesMut) {
    put_cstring(dst, &sm.service_type, 6);
    dst.put_u8(sm.source_ton);
    dst.put_u8(sm.source_npi);
    put_cstring(dst, &sm.source, 21);
    dst.put_u8(sm.destination_ton);
    dst.put_u8(sm.destination_npi);
    put_cstring(dst, &sm.destination, 21);
    dst.put_u8(sm.esm_class);
    dst.put_u8(sm.protocol_id);
    dst.put_u8(sm.priority);
    put_cstring(dst, &sm.schedule_delivery_time, 17);
    put_cstring(dst, &sm.validity_period, 17);
    dst.put_u8(sm.registered_delivery);
    dst.put_u8(sm.replace_if_present);
    dst.put_u8(sm.data_coding);
    dst.put_u8(sm.sm_default_msg_id);
    // short_message holds at most 255 octets; a longer text travels in message_payload.
    let message = sm
        .short_message
        .get(..sm.short_message.len().min(255))
        .unwrap_or_default();
    dst.put_u8(u8::try_from(message.len()).unwrap_or(u8::MAX));
    dst.put_slice(message);
    for tlv in &sm.tlvs {
        let value = tlv
            .value
            .get(..tlv.value.len().min(usize::from(u16::MAX)))
            .unwrap_or_default();
        dst.put_u16(tlv.tag);
        dst.put_u16(u16::try_from(value.len()).unwrap_or(u16::MAX));
        dst.put_slice(value);
    }
}

/// Encodes one PDU to bytes (tests, the fuzz check's round trip).
pub fn encode(pdu: &Pdu) -> Result<Bytes, CodecError> {
    let mut buffer = BytesMut::new();
    SmppCodec.encode(pdu.clone(), &mut buffer)?;
    Ok(buffer.freeze())
}

/// The fuzz target's check: any bytes decode without panicking, and every PDU decoded
/// re-encodes to a frame that decodes to the same PDU.
pub fn fuzz_check(data: &[u8]) {
    let mut buffer = BytesMut::from(data);
    while let Ok(Some(frame)) = SmppCodec.decode(&mut buffer) {
        if let Frame::Pdu(pdu) = frame
            && let Ok(bytes) = encode(&pdu)
        {
            let again = decode_frame(bytes);
            assert_eq!(again, Frame::Pdu(pdu), "a decoded PDU re-encodes to itself");
        }
    }
}
