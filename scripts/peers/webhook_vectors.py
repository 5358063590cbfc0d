"""Webhook vectors for every provider's notification scheme, made without the project's code.

Each scheme is signed (or encrypted) here with Python's standard library, the `cryptography`
package (PayPal's RSA certificate and signature, Peach's AES-GCM) and the `standardwebhooks`
package (Yoco), exactly as the providers' documents describe; then each vector is altered the
ways an attacker or a broken sender would: a tampered body, a wrong key, an expired timestamp.
The Rust test `notification_vectors` (vendrome-payments) must accept exactly the vectors marked
`valid`.

Usage: python webhook_vectors.py OUT.json
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.parse
import zlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from standardwebhooks.webhooks import Webhook

NOW = int(time.time())
vectors = []


def add(scheme, name, valid, body, secret, headers=None, fields=None, now=NOW, **extra):
    vectors.append(
        {
            "scheme": scheme,
            "name": name,
            "valid": valid,
            "body": body if isinstance(body, str) else body.decode(),
            "secret": secret,
            "headers": headers or {},
            "fields": fields or [],
            "now": now,
            **extra,
        }
    )


def hex_hmac(key, message, digest):
    return hmac.new(key, message, digest).hexdigest()


# Airwallex: hex HMAC-SHA256 of x-timestamp (ms) + body.
body = b'{"id":"evt_aw_1","name":"payment_intent.succeeded","data":{"object":{"id":"int_1"}}}'
secret = "aw_whsec_vectors"
ts = str(NOW * 1000)
good = hex_hmac(secret.encode(), ts.encode() + body, hashlib.sha256)
add("airwallex", "valid", True, body, secret, {"x-timestamp": ts, "x-signature": good})
add("airwallex", "tampered body", False, body.replace(b"int_1", b"int_2"), secret, {"x-timestamp": ts, "x-signature": good})
add("airwallex", "wrong key", False, body, "another", {"x-timestamp": ts, "x-signature": good})
old = str((NOW - 600) * 1000)
add("airwallex", "expired", False, body, secret, {"x-timestamp": old, "x-signature": hex_hmac(secret.encode(), old.encode() + body, hashlib.sha256)})

# Yoco: Standard Webhooks, signed by the standardwebhooks library.
secret = "whsec_" + base64.b64encode(b"yoco-vectors-secret-0123456789").decode()
body = b'{"id":"evt_yoco_1","type":"payment.succeeded","payload":{"id":"p_1","metadata":{"checkoutId":"ch_1"}}}'
wh = Webhook(secret)
sent = datetime.datetime.fromtimestamp(NOW, tz=datetime.timezone.utc)
sig = wh.sign("msg_1", sent, body.decode())
headers = {"webhook-id": "msg_1", "webhook-timestamp": str(NOW), "webhook-signature": sig}
wh.verify(body.decode(), headers)  # the library accepts its own vector
add("yoco", "valid", True, body, secret, headers)
add("yoco", "tampered body", False, body.replace(b"p_1", b"p_2"), secret, headers)
add("yoco", "wrong key", False, body, "whsec_" + base64.b64encode(b"another").decode(), headers)
stale = datetime.datetime.fromtimestamp(NOW - 240, tz=datetime.timezone.utc)
add("yoco", "expired (4 min, Yoco allows 3)", False, body, secret,
    {"webhook-id": "msg_1", "webhook-timestamp": str(NOW - 240), "webhook-signature": wh.sign("msg_1", stale, body.decode())})

# Paystack: hex HMAC-SHA512 of the body with the secret key.
secret = "sk_test_vectors"
body = b'{"event":"charge.success","data":{"id":302961,"reference":"pay-1","amount":25000,"currency":"ZAR"}}'
good = hex_hmac(secret.encode(), body, hashlib.sha512)
add("paystack", "valid", True, body, secret, {"x-paystack-signature": good})
add("paystack", "tampered body", False, body.replace(b"25000", b"2500000"), secret, {"x-paystack-signature": good})
add("paystack", "wrong key", False, body, "sk_test_other", {"x-paystack-signature": good})

# Peach payments webhooks: AES-256-GCM, hex body, IV and tag in headers.
key = os.urandom(32)
iv = os.urandom(12)
plain = b'{"type":"PAYMENT","payload":{"id":"8ac7a4a1","merchantTransactionId":"pay-1","amount":"25.00","currency":"ZAR","result":{"code":"000.100.110"}}}'
sealed = AESGCM(key).encrypt(iv, plain, None)
cipher, tag = sealed[:-16], sealed[-16:]
headers = {"x-initialization-vector": iv.hex(), "x-authentication-tag": tag.hex()}
add("peach", "valid", True, cipher.hex(), key.hex(), headers, plaintext=plain.decode())
flipped = bytearray(cipher)
flipped[5] ^= 1
add("peach", "tampered body", False, bytes(flipped).hex(), key.hex(), headers)
add("peach", "wrong key", False, cipher.hex(), os.urandom(32).hex(), headers)

# Peach Checkout: hex HMAC-SHA256 over name+value of every other field, sorted by name.
secret = "peach-checkout-token"
params = [("merchantTransactionId", "pay-1"), ("amount", "25.00"), ("currency", "ZAR"), ("result.code", "000.100.110"), ("customParameters[note]", "")]
signed = "".join(k + v for k, v in sorted(params))
good = hex_hmac(secret.encode(), signed.encode(), hashlib.sha256)
add("peach-checkout", "valid", True, "", secret, fields=params + [("signature", good)])
add("peach-checkout", "tampered amount", False, "", secret, fields=[(k, "2500.00" if k == "amount" else v) for k, v in params] + [("signature", good)])
add("peach-checkout", "wrong key", False, "", "another", fields=params + [("signature", good)])


# Payfast ITN: MD5 over fields in posted order (PHP urlencode) + passphrase.
def php_urlencode(value):
    return urllib.parse.quote_plus(value, safe="").replace("~", "%7E")


passphrase = "jt7NOE43FZPn"
itn = [("m_payment_id", "pay-1"), ("pf_payment_id", "1089250"), ("payment_status", "COMPLETE"),
       ("item_name", "Order #1 & more ~"), ("amount_gross", "25.00"), ("amount_fee", "-0.58"),
       ("amount_net", "24.42"), ("name_first", ""), ("merchant_id", "10000100")]
text = "&".join(f"{k}={php_urlencode(v)}" for k, v in itn) + "&passphrase=" + php_urlencode(passphrase)
good = hashlib.md5(text.encode()).hexdigest()
add("payfast", "valid", True, "", passphrase, fields=itn + [("signature", good)], amount="25.00")
add("payfast", "tampered amount", False, "", passphrase, fields=[(k, "2500.00" if k == "amount_gross" else v) for k, v in itn] + [("signature", good)], amount="25.00")
add("payfast", "wrong passphrase", False, "", "another", fields=itn + [("signature", good)], amount="25.00")
add("payfast", "amount not the one asked for", False, "", passphrase, fields=itn + [("signature", good)], amount="30.00")

# Ozow: SHA-512 of the lower-cased documented fields in order + private key.
private_key = "OzowPrivateKey"
notify = [("SiteCode", "TSTSTE0001"), ("TransactionId", "7b6f1b1e-9f1c"), ("TransactionReference", "pay-1"),
          ("Amount", "25.00"), ("Status", "Complete"), ("Optional1", ""), ("Optional2", ""), ("Optional3", ""),
          ("Optional4", ""), ("Optional5", ""), ("CurrencyCode", "ZAR"), ("IsTest", "true"), ("StatusMessage", "")]
good = hashlib.sha512(("".join(v for _, v in notify) + private_key).lower().encode()).hexdigest()
add("ozow", "valid", True, "", private_key, fields=notify + [("Hash", good)])
add("ozow", "tampered status", False, "", private_key, fields=[(k, "Cancelled" if k == "Status" else v) for k, v in notify] + [("Hash", good)])
add("ozow", "wrong key", False, "", "another", fields=notify + [("Hash", good)])

# PayPal: RSA-SHA256 over id|time|webhook id|crc32(body), certificate served by PayPal.
rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.paypal.com")])
cert = (
    x509.CertificateBuilder()
    .subject_name(name)
    .issuer_name(name)
    .public_key(rsa_key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1))
    .not_valid_after(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=365))
    .sign(rsa_key, hashes.SHA256())
)
cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
webhook_id = "WH-VECTORS-1"
body = b'{"id":"WH-58D329510W468432D","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"8MC585209K746392H"}}'
tid, ttime = "dfb3be50-fd74-11e4-8bf3-77339302725b", "2026-12-06T10:00:00Z"
message = f"{tid}|{ttime}|{webhook_id}|{zlib.crc32(body) & 0xFFFFFFFF}".encode()
sig = base64.b64encode(rsa_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
cert_url = "https://api.paypal.com/v1/notifications/certs/CERT-vectors"
headers = {"paypal-transmission-id": tid, "paypal-transmission-time": ttime, "paypal-transmission-sig": sig,
           "paypal-cert-url": cert_url, "paypal-auth-algo": "SHA256withRSA"}
add("paypal", "valid", True, body, webhook_id, headers, certificate=cert_pem)
add("paypal", "tampered body", False, body.replace(b"8MC5", b"9MC5"), webhook_id, headers, certificate=cert_pem)
add("paypal", "another webhook id", False, body, "WH-OTHER", headers, certificate=cert_pem)
add("paypal", "certificate not on paypal.com", False, body, webhook_id,
    {**headers, "paypal-cert-url": "https://paypal.com.evil.example/cert"}, certificate=cert_pem)
other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
forged = base64.b64encode(other_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
add("paypal", "signed by another key", False, body, webhook_id, {**headers, "paypal-transmission-sig": forged}, certificate=cert_pem)

with open(sys.argv[1], "w") as out:
    json.dump(vectors, out, indent=1)
print(f"{len(vectors)} vectors written to {sys.argv[1]}")
