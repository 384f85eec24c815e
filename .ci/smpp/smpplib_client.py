"""An independent SMPP 3.4 client (Python's smpplib) against the simulated SMSC.

Binds as a transceiver, prints BOUND, sends a long Cyrillic text as concatenated UCS-2
submit_sm parts with receipts requested, then reads until a phone's message and a receipt per
part have come; prints one JSON line of what it saw, unbinds. Run by
crates/simulators/tests/smsc_wire.rs: python3 smpplib_client.py HOST PORT SYSTEM_ID PASSWORD TEXT
"""

import json
import sys
import time

import smpplib.client
import smpplib.consts
import smpplib.gsm

host, port, system_id, password, text = sys.argv[1:6]
seen = {"mo": [], "receipts": [], "message_ids": []}


def received(pdu, **_):
    if pdu.esm_class & 0x04:  # SMSC delivery receipt
        seen["receipts"].append(pdu.receipted_message_id.decode())
    else:
        seen["mo"].append({"data_coding": pdu.data_coding, "hex": pdu.short_message.hex(),
                           "source": pdu.source_addr.decode()})
    return smpplib.consts.SMPP_ESME_ROK


def sent(pdu, **_):
    seen["message_ids"].append(pdu.message_id.decode())


client = smpplib.client.Client(host, int(port), timeout=2)
client.set_message_received_handler(received)
client.set_message_sent_handler(sent)
client.connect()
client.bind_transceiver(system_id=system_id, password=password)
print("BOUND", flush=True)

parts, coding, esm_class = smpplib.gsm.make_parts(text)
for part in parts:
    client.send_message(
        source_addr_ton=smpplib.consts.SMPP_TON_ALNUM, source_addr="2505",
        dest_addr_ton=smpplib.consts.SMPP_TON_INTL, dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
        destination_addr="77011234567", short_message=part, data_coding=coding,
        esm_class=esm_class, registered_delivery=True)

deadline = time.monotonic() + 20
while time.monotonic() < deadline and (not seen["mo"] or len(seen["receipts"]) < len(parts)):
    try:
        client.read_once()
    except Exception as error:  # a read timeout: look at the deadline and read again
        if "timed out" not in str(error).lower():
            raise

seen["parts"] = len(parts)
print(json.dumps(seen), flush=True)
client.unbind()
client.disconnect()
