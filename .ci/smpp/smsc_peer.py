"""An SMSC nobody here wrote, for our ESME: the `smpp34` wheel's server (pinned in
peer-requirements.txt) on 127.0.0.1:PORT. When our ESME binds it delivers one passenger
message (`deliver_sm` from PHONE to 2505 with TEXT), accepts every `submit_sm`, joins the
concatenated reply (UDH, 8- or 16-bit reference), answers each part with a delivery receipt as
real SMSCs write them (receipted_message_id and message_state TLVs, the appendix B text), and
exits when our ESME unbinds. Each event is one JSON line on stdout, read by
crates/api/tests/api/smpp_peer.rs.

usage: smsc_peer.py PORT PHONE TEXT
"""

import asyncio
import json
import os
import sys

import smpp34

RECEIPTED_MESSAGE_ID = 0x001E
MESSAGE_STATE = 0x0427
DELIVERED = 2
TIMEOUT_S = 60


def say(**event):
    print(json.dumps(event, ensure_ascii=False), flush=True)


def split_udh(esm_class, payload):
    """(reference, total, number, body) of a UDH-concatenated part, or None."""
    if not esm_class & 0x40 or not payload:
        return None
    udh_len = payload[0]
    udh, body = payload[1 : 1 + udh_len], payload[1 + udh_len :]
    i = 0
    while i + 1 < len(udh):
        iei, length = udh[i], udh[i + 1]
        value = udh[i + 2 : i + 2 + length]
        if iei == 0x00 and length == 3:
            return value[0], value[1], value[2], body
        if iei == 0x08 and length == 4:
            return (value[0] << 8) | value[1], value[2], value[3], body
        i += 2 + length
    return None


def decode(data_coding, body):
    if data_coding == 0x08:
        return body.decode("utf-16-be")
    # GSM 7-bit default alphabet, unpacked: the ASCII-compatible letters of our replies.
    return body.decode("latin-1")


async def main():
    port, phone, text = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    server = smpp34.Server(host="127.0.0.1", port=port, system_id="PEERSMSC")
    await server.start()
    say(listening=port)
    esme = None
    parts = {}
    next_id = 0
    while True:
        event = await asyncio.wait_for(server.next(), TIMEOUT_S)
        if isinstance(event, smpp34.Esme):
            esme = event
            say(bound=event.system_id)
            answer = await esme.deliver_sm(
                "2505",
                text.encode("utf-16-be"),
                source_addr=phone.lstrip("+"),
                source_addr_ton=1,
                source_addr_npi=1,
                data_coding=0x08,
            )
            say(deliver_sm_resp=answer.command_status)
        elif isinstance(event, smpp34.SubmitSmEvent):
            next_id += 1
            message_id = f"peer{next_id:04d}"
            event.accept(message_id=message_id)
            payload = bytes(event.short_message)
            concatenated = split_udh(event.esm_class, payload)
            if concatenated is None:
                reference, total, number, body = 0, 1, 1, payload
            else:
                reference, total, number, body = concatenated
            key = (event.destination_addr, reference)
            parts.setdefault(key, {})[number] = (message_id, body)
            if len(parts[key]) == total:
                received = parts.pop(key)
                joined = b"".join(received[n][1] for n in sorted(received))
                say(
                    to=event.destination_addr,
                    source=event.source_addr,
                    data_coding=event.data_coding,
                    parts=total,
                    message_ids=[received[n][0] for n in sorted(received)],
                    text=decode(event.data_coding, joined),
                )
                for n in sorted(received):
                    part_id = received[n][0]
                    receipt = await esme.deliver_sm(
                        event.source_addr,
                        f"id:{part_id} sub:001 dlvrd:001 stat:DELIVRD err:000 text:".encode(),
                        source_addr=event.destination_addr,
                        esm_class=0x04,
                        tlvs=[
                            smpp34.Tlv(RECEIPTED_MESSAGE_ID, part_id.encode() + b"\0"),
                            smpp34.Tlv(MESSAGE_STATE, bytes([DELIVERED])),
                        ],
                    )
                    say(receipt=part_id, receipt_resp=receipt.command_status)
        elif isinstance(event, smpp34.Unbound):
            say(unbound=True)
            try:
                await asyncio.wait_for(server.stop(), 10)
            except Exception as error:  # the session is over; say how the listener closed
                say(stop_error=repr(error))
            return


asyncio.run(main())
sys.stdout.flush()
# The session ended as it should: leave without the interpreter's teardown of the wheel's
# tasks, whose exit status is not part of what is tested.
os._exit(0)
