"""Redaction: what a trace keeps and what it never stores, by key and by the shape of a value."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors import conventions
from processors.stitching import redaction
from processors.stitching.model import TraceEvent, TraceHead, event_bytes
from processors.stitching.redaction import (
    MAX_FIELD_CHARS,
    redact_text,
    storable_fields,
    storable_metadata,
    storable_metadata_encoded,
)

R = conventions.REDACTED
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
# token formats as GitHub documents them: a prefix, then 36 letters and digits (fine-grained: 22 + _ + 59)
GHP = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
GHO, GHS = GHP.replace("ghp_", "gho_"), GHP.replace("ghp_", "ghs_")
GITHUB_PAT = "github_pat_11ABCDEFG0123456789abc_" + "a1B2c3D4e5" * 5 + "f6G7h8I9j"
XOXP, XAPP = "xoxp-123456789012-1234567890123-AbCdEfGhIjKl", "xapp-1-A0123456789-1234567890123-abcdef0123"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nq1w2e3r4t5y6\n-----END RSA PRIVATE KEY-----"

REDACTED_VALUES = [
    ("a bearer token in an error string", "upstream 401: Authorization: Bearer abcdef0123456789xyz",
     "Bearer abcdef0123456789xyz"),
    ("basic credentials", "sent Basic dXNlcjpwYXNzd29yZA== to the proxy", "dXNlcjpwYXNzd29yZA=="),
    ("password= in a query string", "GET /login?user=bob&password=hunter22", "hunter22"),
    ("token= in a query string", "/hook?token=s3cr3t-t0k3n&x=1", "s3cr3t-t0k3n"),
    ("secret= in prose", "config secret=topsecretvalue loaded", "topsecretvalue"),
    ("client_secret in JSON text", '{"client_secret": "abc123def456"}', "abc123def456"),
    ("an access_token pair", "refresh failed access_token=ya29.a0AfH6SM", "ya29.a0AfH6SM"),
    ("an api-key header", "x-api-key: 0123456789abcdef", "0123456789abcdef"),
    ("an AWS access key ID", "assumed AKIAIOSFODNN7EXAMPLE for the upload", "AKIAIOSFODNN7EXAMPLE"),
    ("a temporary AWS access key ID", "ASIAY34FZKBOKMUTVV7A expired", "ASIAY34FZKBOKMUTVV7A"),
    ("a JWT", f"token rejected: {JWT}", JWT),
    ("userinfo in a URL", "clone https://bob:ghp_pAsSw0rd@github.com/org/repo failed", "ghp_pAsSw0rd"),
    ("a presigned URL's signature", "PUT https://b.s3.amazonaws.com/k?X-Amz-Signature=abcdef0123", "abcdef0123"),
    ("a session id pair", "lost session_id=8f14e45fceea167a", "8f14e45fceea167a"),
    # vendors' token formats, under keys and in text that name no secret
    ("a GitHub personal access token", f"push rejected for {GHP}", GHP),
    ("a GitHub OAuth token", f"{GHO} used", GHO),
    ("a GitHub Actions token", f"checkout with {GHS}", GHS),
    ("a fine-grained GitHub token", f"using {GITHUB_PAT}", GITHUB_PAT),
    ("a Slack bot token", "post failed with xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp",
     "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp"),
    ("a Slack user token", f"auth.test {XOXP}", XOXP),
    ("a Slack app-level token", f"socket mode {XAPP}", XAPP),
    ("a Slack webhook URL", "POST https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX 404",
     "XXXXXXXXXXXXXXXXXXXXXXXX"),
    ("an npm token", "npm_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "npm_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"),
    ("a GitLab token", "glpat-xXxXxXxXxXxXxXxXxXxX", "glpat-xXxXxXxXxXxXxXxXxXxX"),
    ("a Stripe secret key", "charge failed: sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("a Google API key", "geocode AIzaSyA-1234567890abcdefghijklmnopqrstu", "AIzaSyA-1234567890abcdefghijklmnopqrstu"),
    ("an Authorization header with the token scheme", "Authorization: token 0123456789abcdef", "0123456789abcdef"),
    ("a cookie header", "Cookie: theme=dark; sid=31d4d96e407aad42", "31d4d96e407aad42"),
    ("a PagerDuty routing key pair", "enqueue failed routing_key=R0123456789abcdef0123456789abcd",
     "R0123456789abcdef0123456789abcd"),
    ("an Azure SAS signature", "GET https://a.blob.core.windows.net/c/b?sv=2020-08-04&sig=Zm9vYmFy%3D", "Zm9vYmFy"),
    ("a key query parameter", "GET https://maps.example.com/geo?address=x&key=0123456789abcdef", "0123456789abcdef"),
    ("a token as a URL's whole userinfo", "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/1",
     "0123456789abcdef0123456789abcdef"),
    ("a password holding an @ in a URL", "postgres://app:p@ssw0rd@db.internal:5432/app", "ssw0rd"),
    ("a PEM private key", f"loaded {PEM}", "MIIEowIBAAKCAQEA"),
    # pairs as other writers quote them
    ("a request body logged as escaped JSON", 'body="{\\"password\\": \\"hunter22\\"}"', "hunter22"),
    ("a Python dict's repr", "KeyError in {'user': 'bob', 'api_key': 'k0123456789'}", "k0123456789"),
    ("a URL-encoded pair", "redirect=%2Flogin%3Fpassword%3Dhunter22", "hunter22"),
    ("a quoted value with a space", 'PASSWORD = "correct horse"', "horse"),
    ("a command line's option", "ran: docker login -u bob --password hunter22 registry.example.com", "hunter22"),
    ("an option that starts the text", "--github-token ghtok0123 --verbose", "ghtok0123"),
    # MySQL's client takes its password attached to -p (-phunter22), which elsewhere is a port or a proxy
    ("mysql's attached password", "ran: mysql -h db.internal -uroot -phunter22 app < dump.sql", "hunter22"),
    ("mysqldump's attached password", "/usr/bin/mysqldump --single-transaction -u app -pS3cr3t! app", "S3cr3t!"),
    ("mariadb's quoted attached password", "mariadb -uapp -p'correct horse' -e 'select 1'", "horse"),
    ("an attached password after a quoted argument", "mysql -e 'select 1' -phunter22 app", "hunter22"),
    ("an attached password in a logged command's JSON", '{"cmd": "mysql -uroot -phunter22"}', "hunter22"),
    ("a doubly URL-encoded pair", "next=%252Flogin%253Fpassword%253Dhunter22", "hunter22"),
    ("a doubly URL-encoded pair alone", "password%253Dhunter22", "hunter22"),
    # XML elements named for a secret (SOAP bodies, STS responses), escaped too
    ("an XML password element", "<login><user>bob</user><password>hunter22</password></login>", "hunter22"),
    ("an XML element in another case", "<Secret>s3cr3t-value</Secret>", "s3cr3t-value"),
    ("a camelCase XML element", '<apiKey type="live">k0123456789</apiKey>', "k0123456789"),
    ("an STS response's secret key", "<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCY</SecretAccessKey>",
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCY"),
    ("an escaped XML element", "&lt;password&gt;hunter22&lt;/password&gt;", "hunter22"),
    # a config element whose key (or name) attribute names a secret: .NET's appSettings, Spring's properties
    ("a .NET appSettings secret", '<appSettings><add key="ApiKey" value="k0123456789"/></appSettings>',
     "k0123456789"),
    ("a Spring property named so", "<property name='db.password' value='hunter22' />", "hunter22"),
    ("a .NET setting whose value holds a quote", '<add key="Stripe:SecretKey" value="it\'s-sk_x0123" />', "sk_x0123"),
    ("a .NET appSettings secret logged as escaped JSON", 'body="<add key=\\"ApiKey\\" value=\\"k0123456789\\"/>"',
     "k0123456789"),
    ("an XML session ID, which is a credential", "<SessionId>8f14e45fceea167a</SessionId>", "8f14e45fceea167a"),
    # a token as a URL path segment, after a segment that names what it is
    ("a password reset link", "GET https://app.example.com/reset-password/Zk3p9QxL2mRt7Yw 200", "Zk3p9QxL2mRt7Yw"),
    ("a key in an API path", "DELETE /api/keys/k_0123456789abcdef 204", "k_0123456789abcdef"),
    ("an invitation link", "sent /invite/Zx81kLmQ0pQ to bob", "Zx81kLmQ0pQ"),
    ("a token after a plural segment", "/v1/tokens/tok_9f8e7d6c5b4a", "tok_9f8e7d6c5b4a"),
    ("a secret after a camelCase segment", "/resetPassword/ABCdef123456?x=1", "ABCdef123456"),
    ("a token after an action word", "/password/reset/9f8e7d6c5b4a3f2e", "9f8e7d6c5b4a3f2e"),
    ("an OAuth authorization code", "GET /oauth/callback?code=4/0AbCdEfGh&state=xyz 302", "4/0AbCdEfGh"),
    # a one-time link's action word anywhere in the segment before, not only as its last word
    ("a token after an action word and its object", "GET /verify-email/Zk3p9QxL2mRt7Yw 200", "Zk3p9QxL2mRt7Yw"),
    ("a token after an action word, its object and a second word", "/reset-password-confirm/Q7x2Lm9Kp3Rt",
     "Q7x2Lm9Kp3Rt"),
    ("a token after a camelCase action word and its object", "/confirmEmail/Ab12Cd34Ef56", "Ab12Cd34Ef56"),
    ("a magic link's token", "sent /auth/magic-link/Mz81kLmQ0pQ7 to bob", "Mz81kLmQ0pQ7"),
    ("a one-time code of digits after an action word", "/verify-phone/482913", "482913"),
    ("a one-time code of digits after a reset link's noun", "/reset-password/482913", "482913"),
    ("an upper-case token with digits after a noun", "/v1/tokens/AB12CD34EF56GH78", "AB12CD34EF56GH78"),
    ("an upper-case code after an action word", "/verify/QZXKPT", "QZXKPT"),
    # a logged argv or pair written as a JSON array inside a string
    ("an argv as a JSON array in text", 'exec ["docker", "login", "--password", "hunter22", "r.io"]', "hunter22"),
    ("a name and value as a JSON array in text", 'header ["token", "abc0123456"] dropped', "abc0123456"),
    # a status word only stays as the whole value: one that starts a secret is no status (True.Horse-Battery9)
    ("a password that starts with a status word and a dot", "login password=True.Horse-Battery9 ok", "Horse-Battery9"),
    ("a token that starts with a status word and a parenthesis", "session=null)s3cr3t-v4lue", "s3cr3t-v4lue"),
    ("a quoted password that starts with a status word", '{"password": "empty.hunter22"}', "hunter22"),
    # chained pairs: the value of the first is a name whose value is the secret
    ("a pair chained to a secret's name", "token=session = abc123", "abc123"),
    ("a pair chained to a secret's name with a colon", "password = token: hunter22", "hunter22"),
    ("a chained assignment", "api_key = default_key = k0123456789", "k0123456789"),
    ("a chained assignment of a quoted value", "token = fallback = 'correct horse'", "horse"),
    # config elements with their value first, or HTML-escaped
    ("a .NET setting with its value before its key", '<add value="s3cr3t-v4lue" key="ApiKey"/>', "s3cr3t-v4lue"),
    ("a Spring property with its value before its name", "<property value='hunter22' name='db.password' />",
     "hunter22"),
    ("a setting with its value first logged as escaped JSON", 'body="<add value=\\"k0123456789\\" key=\\"ApiKey\\"/>"',
     "k0123456789"),
    ("an HTML-escaped .NET setting", "&lt;add key=&quot;ApiKey&quot; value=&quot;k0123456789&quot;/&gt;",
     "k0123456789"),
    ("an HTML-escaped setting with its value first",
     "&lt;add value=&#39;it&quot;s-k0123&#39; key=&#39;ApiKey&#39; /&gt;", "k0123"),
    # mysql's attached password after a quoted argument that holds a ; or a space
    ("an attached password after a double-quoted statement", 'mysql -e "select 1;" -pS3cr3tPw', "S3cr3tPw"),
    ("an attached password after a single-quoted statement", "mysql -e 'select 1; select 2' -phunter22 app",
     "hunter22"),
    ("an attached password after an option's quoted value", 'mysqldump --where="id > 3;" -phunter22 app', "hunter22"),
    ("an attached password after an escaped quoted statement", '{"cmd": "mysql -e \\"select 1;\\" -phunter22"}',
     "hunter22"),
    # a pair's unquoted value that starts another shape: the shape's own rule finds its secret, whole
    ("a pair whose value is an XML element named for a secret", "token=<password>correct horse</password>", "horse"),
    ("a pair whose value runs into an XML element", "token=abc<Secret>correct horse</Secret>", "horse"),
    ("a pair whose value is an XML element with an attribute", 'password: <apiKey type="x">correct horse</apiKey>',
     "horse"),
    ("a chained pair whose value is an XML element", "token=session=<SessionId>correct horse</SessionId>", "horse"),
    ("a pair whose value is an option naming a secret", "token=--password hunter22", "hunter22"),
    ("a pair whose value is a config element", 'token=<add key="ApiKey" value="correct horse"/>', "horse"),
    ("a pair whose value is a config element with its value first",
     "secret=<property value='correct horse' name='db.password'/>", "horse"),
    ("a pair whose value is a mysql command", "secret=mysql -uroot -phunter22 app", "hunter22"),
    # a one-time password, and the other names the key vocabulary holds, in text as in keys
    ("a one-time password in prose", "login with otp=482913 failed", "482913"),
    ("a TOTP code in prose", "verify totp: 482913 rejected", "482913"),
    ("a one-time password's option", "cli login --otp 482913", "482913"),
    ("a one-time password's XML element", "<OtpCode>482913</OtpCode>", "482913"),
    ("a password under a short last word", "connect db_pass=hunter22 failed", "hunter22"),
    ("a DSN under its last word", "init sentry_dsn=0123456789abcdef", "0123456789abcdef"),
    ("a JWT under its name, cut short", "jwt=eyJhbGciOi...", "eyJhbGciOi"),
    ("a webhook URL under its name", "webhook_url=https://example.com/in/Zx81kLmQ0pQ7", "Zx81kLmQ0pQ7"),
]


@pytest.mark.parametrize(("case", "text", "secret"), REDACTED_VALUES, ids=[c[0] for c in REDACTED_VALUES])
def test_a_secret_inside_a_string_value_is_redacted(case: str, text: str, secret: str) -> None:
    stored = storable_metadata({"error": text, "reason": {"detail": [text]}})
    assert secret not in str(stored)
    assert R in stored["error"] and R in stored["reason"]["detail"][0]


# pieces of text that start or end a secret's shape, and pieces that do not
FRAGMENTS = st.sampled_from([
    "/", "//", "/api", "/Keys", "keys", "apiKey", "-", "_", ".", " ", "=", ":", "%253D", "%3d", "?", "&", ";", '"', "'",
    "<", ">", "</", "&lt;", "&gt;", ",", "[", "]", "{", "}", "--", "-no-", "token", "Password", "invite", "reset",
    "verify", "otp", "unsubscribe", "session", "expired", "code=", "Bearer ", "AKIA", "x" * 20, "Ab9", "123456",
    "magic-link", "Email", "-email", "resets", "mysql", "mariadb", "-p", "-pS3", "/bin/",
    " = ", "value=", " key=", "name=", "&quot;", "&#39;", "<add ", "&lt;add ", "ApiKey", "-e ", "\\",
    "OTP", "user", "Code", "db_", "Pass", "X-", "Auth", "DSN", "sig", "jwt", "Pw", "psk", "encryption_key",
    "connection-string", "webhookUrl",
])


@settings(max_examples=400, derandomize=True, deadline=None)
@given(st.lists(FRAGMENTS, max_size=12).map("".join))
def test_the_cheap_pre_check_never_skips_text_that_a_shape_would_change(text: str) -> None:
    shaped = text
    for pattern, replacement in redaction._SECRET_SHAPES:
        shaped = pattern.sub(replacement, shaped)
    assert redact_text(text) == shaped


KEPT_VALUES = [
    ("an ordinary error", "runner exited with code 1 after 3 retries"),
    ("an HTTP status line", "upstream returned 503 Service Unavailable"),
    ("a repository", "octo-org/octo-repo"),
    ("a task ARN", "arn:aws:ecs:us-east-1:123456789012:task/runners/0123456789abcdef"),
    ("prose mentioning tokens", "token expired, refreshing"),
    ("a word that contains auth", "author bob pushed 3 commits"),
    ("a cache key", "npm-linux-x64-0a1b2c3d4e5f"),
    ("an URL without userinfo", "https://github.com/org/repo/actions/runs/42"),
    ("a commit SHA", "4b825dc642cb6eb9a060e54bf8d69288fbee4904"),
    ("a correlation ID", "00000000-0000-4000-8000-000000000002"),
    ("a run ID", "run 9876543210 attempt 2"),
    ("an ssh URL's user", "clone ssh://git@github.com/org/repo.git"),
    ("a short user in a URL", "https://bob@example.com/x"),
    ("a URL with an ordinary query", "https://api.github.com/repos/o/r/runs?page=2&per_page=100"),
    ("words that contain a short secret word", "design review passed: 42 tests, cache bypassed"),
    ("a port, a query and an address", "https://host:8080/?email=a@b.com"),
    ("a command line without a secret option", "npm ci --prefer-offline --cache /tmp/npm -u bob"),
    # a word after a secret's name that says what happened to it, not what it is
    ("a session's status in prose", "session: expired, signing in again"),
    ("a token's status in prose", "token: invalid (401)"),
    ("a status word that ends a sentence", "login failed (token: invalid). password: none."),
    ("a negated option and the next argument", "login --no-password-check registry.example.com"),
    ("an option that reads the secret elsewhere", "docker login --password-stdin registry.example.com"),
    ("mysql's password prompt and its port", "mysql -h db -P 3306 -u app -p app_db"),
    ("an attached -p after another command", "mysql -u app < x.sql; docker run -p8080:80 img"),
    ("an attached -p without mysql", "ssh -p2222 host; python -pX; mysql-workbench is installed"),
    # paths: a segment after a secret's name that is a word, a template's placeholder or none at all
    ("a route template with a token placeholder", "/reset-password/{token}"),
    ("an Express-style route", "/invite/:code/accept"),
    ("a Flask-style route", "/api/keys/<key_id>"),
    ("an action after a secret's name", "/account/password/reset"),
    ("a new-token form", "/settings/tokens/new"),
    ("a segment that only contains a short secret word", "/monkey/Banana123/turkey/Abc123"),
    ("a path ending in a secret's name", "/api/keys"),
    ("a lower-case word after an action word and its object", "/verify-email/resend"),
    # the trade-off docs/log-schema.md states: a lower-case token this short cannot be told from a route's word
    ("a token of at most 12 lower-case letters, as a route's word is", "/reset-password/abcdefgh"),
    # after a noun that names a secret, a segment in one case is its name and an integer is its ID
    ("a secret's upper-case name after its collection", "PUT /repos/o/r/actions/secrets/NPM_TOKEN 201"),
    ("an upper-case name of a single word", "/orgs/o/actions/secrets/TOKEN/repositories"),
    ("a deploy key's numeric ID", "DELETE /repos/o/r/keys/123 204"),
    ("a session's numeric ID", "/api/sessions/9876543210/events"),
    ("a segment whose action word is inside another word", "/presets-list/Ab12Cd34Ef56/preverify/X9y8Z7w6V5u4"),
    ("an ordinary query with a code-like name", "/search?country_code=US&zip_code=12345"),
    ("an XML element that names no secret", "<KeyName>deploy-key</KeyName><Passed>3</Passed>"),
    # an element that says of what type a secret is, or names or numbers it, holds none
    ("an element holding a token's type", "<TokenType>Bearer</TokenType><ExpiresIn>3600</ExpiresIn>"),
    ("an element holding a secret's name", "<SecretName>prod/db</SecretName>"),
    ("a .NET setting naming no secret", '<add key="PageSize" value="50"/><add key="TokenType" value="Bearer"/>'),
    ("an element holding a key's ID", "<ns:AccessKeyId>deploy-key-7</ns:AccessKeyId><token_id>42</token_id>"),
    ("settings with their value first naming no secret",
     '<add value="Bearer" key="TokenType"/><add value="50" key="x"/>'),
    ("an HTML-escaped setting naming no secret", "&lt;add key=&quot;PageSize&quot; value=&quot;50&quot;/&gt;"),
    ("a value attribute before a key naming no secret", "&lt;add value=&quot;token&quot; key=&quot;Mode&quot;/&gt;"),
    ("a port after a quoted mysql statement that ends its command", 'mysql -e "select 1;"; docker run -p8080:80 img'),
    ("a port in another JSON string after a mysql command", '{"cmd": "mysql -u app", "run": "docker run -p8080:80 x"}'),
    ("a quoted argument glued to a word in a mysql command", 'mysql -u app"; x" -p8080'),
]


@pytest.mark.parametrize(("case", "text"), KEPT_VALUES, ids=[c[0] for c in KEPT_VALUES])
def test_an_ordinary_string_value_is_kept_verbatim(case: str, text: str) -> None:
    assert redact_text(text) == text
    assert storable_metadata({"error": text}) == {"error": text}


SECRET_KEYS = ["credentials", "passwd", "private_key", "session", "sessionToken", "X-Api-Key", "client_secret",
               "Authorization", "cookie", "aws_access_key_id", "signature", "jwt", "passphrase", "otp",
               "Api.Key", "api key", "API-KEY", "Pwd", "db_pass", "X-Auth", "routing_key", "routingKey",
               "integration_key", "sentryDSN", "azure_sig", "connection_string", "webhook_url", "otp_code", "OTPCode",
               "otpcode", "user_otp", "totp", "TOTP_SEED", "hotp", "userotp", "smsotp", "USEROTP", "emailotps"]


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_a_nested_secret_looking_key_is_redacted_whatever_its_value(key: str) -> None:
    stored = storable_metadata({"error": {"context": {key: {"anything": "here"}}}})
    assert stored == {"error": {"context": {key: R}}}


KEPT_KEYS = ["cacheKey", "key", "sort_key", "passed", "design", "bypass", "auth_type", "author", "signal", "patch",
             "footprint", "rootPath", "snapshot_policy", "hotplug", "depotPath", "rootpath", "hotpot", "footpath",
             "potpourri", "snapshotpolicy"]


@pytest.mark.parametrize("key", KEPT_KEYS)
def test_a_nested_key_that_only_contains_a_short_secret_word_keeps_its_value(key: str) -> None:
    assert storable_metadata({"error": {key: "deps-web"}}) == {"error": {key: "deps-web"}}


# a name in text is one word of letters, digits, _ and - (Api.Key=x is the pair Key=x)
TEXT_NAMES = [key for key in SECRET_KEYS if re.fullmatch(r"[A-Za-z0-9_\-]+", key)]


@pytest.mark.parametrize("key", TEXT_NAMES)
def test_a_pair_in_text_whose_name_is_a_secret_key_is_redacted_as_the_key_is(key: str) -> None:
    texts = [f"login with {key}=482913 failed", f'{{"{key}": "482913"}}', f"--{key} 482913"]
    if not re.search(r"(?i)(type|name|id)$", key):  # an XML element so named describes a secret (<AccessKeyId>)
        texts.append(f"<{key}>482913</{key}>")
    for text in texts:
        assert "482913" not in redact_text(text), text


@pytest.mark.parametrize("key", KEPT_KEYS)
def test_a_pair_in_text_whose_name_only_contains_a_short_secret_word_keeps_its_value(key: str) -> None:
    for text in (f"{key}=deps-web", f"{key}: deps-web", f"--{key} deps-web", f"<{key}>deps-web</{key}>"):
        assert redact_text(text) == text


@pytest.mark.parametrize("secret", [GHP, JWT, "AKIAIOSFODNN7EXAMPLE", "xoxb-123456789012-1234567890123-AbCdEfGhIjKl"])
def test_a_secret_used_as_a_dict_key_is_redacted_in_the_key(secret: str) -> None:
    stored = storable_metadata({"error": {secret: 1, "nested": [{secret: {"a": 1}}]}})
    assert secret not in json.dumps(stored)
    assert [R in name for name in stored["error"]] == [True, False]
    assert next(iter(stored["error"].values())) == 1 and list(stored["error"]["nested"][0].values()) == [{"a": 1}]


def test_a_value_logged_beside_a_name_that_says_secret_is_redacted_and_other_pairs_are_kept() -> None:
    # headers and variables as name/value pairs (API Gateway, ALB, HAR, ECS) and as [name, value] lists
    headers = [{"name": "X-Api-Key", "value": "0123456789abcdef"}, {"Name": "Cookie", "Value": "sid=31d4d96e"},
               {"key": "DB_PASSWORD", "value": "hunter22"}, ["Authorization", "0123456789abcdef"],
               {"name": "Accept", "value": "application/json"}, ["Content-Type", "text/plain"]]
    stored = storable_metadata({"error": {"headers": headers}})["error"]["headers"]
    assert stored == [{"name": "X-Api-Key", "value": R}, {"Name": "Cookie", "Value": R},
                      {"key": "DB_PASSWORD", "value": R}, ["Authorization", R],
                      {"name": "Accept", "value": "application/json"}, ["Content-Type", "text/plain"]]


ARGV_CASES = [
    ("a long option and its value", ["docker", "login", "--password", "hunter22", "r.io"],
     ["docker", "login", "--password", R, "r.io"]),
    ("an option naming a token", ["gh", "auth", "--with-token", "ghtok0123"], ["gh", "auth", "--with-token", R]),
    ("a bare name and its value", ["x", "token", "abc0123456"], ["x", "token", R]),
    ("a name and a number", ["--pin", "x", "--otp", 123456], ["--pin", "x", "--otp", R]),
    ("a name and its value as a pair", ["token", "abc0123456"], ["token", R]),
    # -p is a port (docker, ssh), a proxy tunnel (curl) or a password only when attached (mysql -phunter2)
    ("a short option that may be a port", ["docker", "run", "-p", "8080:80", "img"],
     ["docker", "run", "-p", "8080:80", "img"]),
    ("a negated option", ["login", "--no-password-check", "registry.example.com"],
     ["login", "--no-password-check", "registry.example.com"]),
    ("an option that reads the secret from stdin", ["login", "--password-stdin", "r.io"],
     ["login", "--password-stdin", "r.io"]),
    ("an option after a secret's option", ["login", "--password", "--verbose"], ["login", "--password", "--verbose"]),
    ("prose naming a token, then another item", ["token expired, refreshing", "retrying"],
     ["token expired, refreshing", "retrying"]),
    ("words that contain a short secret word", ["design", "passed", "bypass", "ok"],
     ["design", "passed", "bypass", "ok"]),
]


@pytest.mark.parametrize(("case", "argv", "kept"), ARGV_CASES, ids=[c[0] for c in ARGV_CASES])
def test_a_list_item_after_an_item_that_names_a_secret_is_redacted(case: str, argv: list, kept: list) -> None:
    assert storable_metadata({"error": {"argv": argv}}) == {"error": {"argv": kept}}


def test_a_private_key_cut_before_its_end_line_is_redacted_to_the_cut() -> None:
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" + "A" * 3000
    stored = storable_metadata({"error": f"bad key -----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----"})
    assert "MIIEvQ" not in stored["error"] and "AAAA" not in stored["error"]
    assert stored["error"] == f"bad key -----BEGIN PRIVATE KEY-----{R}…"  # … marks the cut


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("/repos/o/r/hooks?token=abc&password=hunter2", "/repos/o/r/hooks"),
        ("/runs/42#fragment", "/runs/42"),
        ("/health", "/health"),
        ("/reset-password/Zk3p9QxL2mRt7Yw", f"/reset-password/{R}"),
        ("/invite/Zx81kLmQ0pQ/accept?ref=mail", f"/invite/{R}/accept"),
        ("/reset-password/{token}", "/reset-password/{token}"),
    ],
)
def test_paths_and_routes_are_stored_without_their_query_string(path: str, kept: str) -> None:
    assert storable_metadata({"path": path, "route": path}) == {"path": kept, "route": kept}


def test_numbers_booleans_and_unlisted_keys_behave_as_before() -> None:
    stored = storable_metadata({"status": 500, "duration": 1.5, "attempt": None, "headers": {"x": "y"}})
    assert stored == {"status": 500, "duration": 1.5, "attempt": None}


def test_a_long_string_is_cut_after_redaction_so_a_secret_on_the_cut_is_never_half_kept() -> None:
    text = "x" * 500 + " password=" + "p" * 100
    stored = storable_metadata({"error": text})["error"]
    assert "ppp" not in stored and stored.endswith("…")
    assert len(storable_metadata({"error": "y" * 5000})["error"]) == 513


@pytest.mark.parametrize("at", [0, 1, 2], ids=["service", "action", "level"])
def test_a_long_service_action_or_level_is_cut_after_redaction_so_a_secret_on_the_cut_is_never_half_kept(
    at: int,
) -> None:
    straddling = "r" * (MAX_FIELD_CHARS - 10) + " " + GHP + "x" * 60_000  # the token spans the cut
    fields = ["Api", "api_request", "INFO"]
    fields[at] = straddling
    kept = storable_fields(*fields)
    assert len(kept[at]) == MAX_FIELD_CHARS and GHP[:10] not in kept[at]
    assert kept[at].endswith(" " + R[:9])
    assert [k for i, k in enumerate(kept) if i != at] == [f for i, f in enumerate(fields) if i != at]


STORED_SIZE_CASES = [
        ("nothing kept", {"unlisted": 1}),
        ("scalars", {"status": 200, "duration": 1.5, "attempt": None, "error": False}),
        ("non-ASCII and escapes", {"reason": 'naïve "quoted" \\ ✓', "path": "/ünï?x=1"}),
        ("nested", {"error": {"type": "Timeout", "stack": ["a", {"b": [1, 2.0]}]}}),
        ("over the event's byte cap", {"error": {"detail": "x" * 5000}, "reason": "y" * 100, "status": 500}),
        ("a value JSON cannot encode", {"error": {"at": object()}}),
        ("a float JSON writes as NaN", {"duration": float("nan"), "bytes": 1e300 * 10}),
]


@pytest.mark.parametrize("case, metadata", STORED_SIZE_CASES)
def test_the_stored_size_built_from_the_metadata_length_equals_encoding_the_whole_event(
    case: str, metadata: dict
) -> None:
    stored, metadata_json, _exact = storable_metadata_encoded(metadata)
    size = len(metadata_json)
    assert stored == storable_metadata(metadata) or case == "a value JSON cannot encode"
    event = TraceEvent(time_ms=1_790_812_800_123, service="gha-ñ", action="job_completed", level="ERROR",
                       metadata=stored)
    assert event_bytes(event, size) == event_bytes(event), case


@pytest.mark.parametrize("case, metadata", STORED_SIZE_CASES)
def test_a_head_document_built_from_its_events_json_equals_encoding_the_whole_head(case: str, metadata: dict) -> None:
    stored, metadata_json, exact = storable_metadata_encoded(metadata)
    recorded = TraceEvent(time_ms=1_790_812_800_123, service="gha-ñ", action="job_completed", level="ERROR",
                          metadata=stored)
    encoded = recorded.encode_with(metadata_json) if exact else None
    loaded = TraceEvent.from_json({"t": 1_790_812_800_200, "s": "api", "a": "x\n\"y\"", "m": {"k": ["v", 1.5]}})
    head = TraceHead(correlation_id="c1", milestones={"job_queued": 1, "ü": 2}, marks={"lat:start": 3},
                     claims={"ok": "s/shard/1:0:0"}, events=[recorded, loaded], truncated=True,
                     workflow_id="w-✓", repository="org/répo", first_seen_ms=1_790_812_800_123, open_since_ms=5)
    if case == "a value JSON cannot encode":  # stored only as json.dumps would: it refuses, as before
        assert encoded is None
        with pytest.raises(TypeError):
            head.compact_json()
        return
    assert encoded is not None and len(encoded) == event_bytes(recorded)
    assert head.compact_json() == json.dumps(head.to_json(), separators=(",", ":")), case
    assert TraceHead(correlation_id="c2").compact_json() == json.dumps(TraceHead("c2").to_json(), separators=(",", ":"))


SCALAR_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(), st.text(max_size=40),
    st.sampled_from([1e-4, 9.9e-5, 1e16, 9999999999999998.0, -0.0, "caf\u00e9", "del\x7f", "\ud800", "a" * 200]),
)
METADATA = st.dictionaries(st.sampled_from(["status", "duration", "error", "reason", "path", "bytes", "unlisted"]),
                           st.one_of(SCALAR_VALUES, st.lists(SCALAR_VALUES, max_size=3)), max_size=6)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(METADATA)
def test_the_stored_metadata_json_is_the_json_modules_compact_encoding_whatever_the_values(metadata: dict) -> None:
    stored, metadata_json, exact = storable_metadata_encoded(metadata)
    assert exact
    assert metadata_json == json.dumps(stored, separators=(",", ":"))


class _Text(str):
    pass


class _Int(int):
    pass


class _Float(float):
    pass


class _Dict(dict):
    pass


# Values at the edges of what orjson writes as json does (redaction._encode_flat): floats at the ends of the
# exponent-free range, ints at the ends of 64 bits, characters json escapes and orjson does not, subclasses.
EDGE_METADATA = [
    ("the smallest float json writes without an exponent", {"duration": 1e-4}),
    ("the float just below it, which json writes with one", {"duration": 9.999999999999999e-05}),
    ("the largest float json writes without an exponent", {"duration": 9999999999999998.0}),
    ("1e16, which json writes with an exponent", {"duration": 1e16}),
    ("a float with sixteen integer digits and a fraction", {"duration": 123456789012345.67}),
    ("1e15 and a subnormal", {"duration": 1e15, "bytes": 5e-324}),
    ("negative zero and zero", {"duration": -0.0, "bytes": 0.0}),
    ("NaN and the infinities", {"duration": float("nan"), "bytes": float("inf"), "attempt": float("-inf")}),
    ("the ends of a signed 64-bit int", {"bytes": 2**63 - 1, "attempt": -(2**63)}),
    ("ints just past a signed 64-bit int", {"bytes": 2**63, "attempt": -(2**63) - 1}),
    ("the ends of an unsigned 64-bit int", {"bytes": 2**64 - 1, "attempt": 2**64}),
    ("booleans beside the ints they equal", {"status": True, "bytes": 1, "attempt": False, "duration": 0}),
    ("DEL in a value", {"error": "del\x7f"}),
    ("every control character in a value", {"error": "".join(map(chr, range(32)))}),
    ("quotes, backslashes and slashes", {"error": '"\\/</script>'}),
    ("a lone surrogate", {"error": "\ud800 and \udfff"}),
    ("non-ASCII text and a line separator", {"error": "caf\u00e9 \u2028 \U0001f600"}),
    ("a string longer than the redaction cache takes", {"error": "x" * 1000}),
    ("a string cut at the stored length", {"error": "x" * 5000}),
    ("DEL, a control character and non-ASCII in keys the spec asks for", {"k\x7f": 1, "k\x01": 2, "k\u00e9": 3}),
    ("subclasses of str, int and float", {"error": _Text("e"), "bytes": _Int(3), "duration": _Float(1.5)}),
    ("a dict subclass, at the top and as a value", _Dict(status=200, reason=_Dict(code="x"))),
]


@pytest.mark.parametrize(("case", "metadata"), EDGE_METADATA, ids=[case for case, _ in EDGE_METADATA])
def test_the_stored_metadata_json_is_the_json_modules_at_the_edges_of_orjsons_path(case: str, metadata: dict) -> None:
    stored, metadata_json, exact = storable_metadata_encoded(metadata, frozenset({"k\x7f", "k\x01", "k\u00e9"}))
    assert exact, case
    assert metadata_json == json.JSONEncoder(separators=(",", ":")).encode(stored), case


def _no_constants(name: str) -> None:
    raise AssertionError(f"{name} in stored JSON")


def test_a_non_finite_number_is_stored_as_the_text_json_writes_for_it_so_stored_json_stays_json() -> None:
    # a log's 1e400 parses as inf; json would write Infinity, which no strict JSON reader (nor slo trace --json's
    # consumers) accepts
    metadata = {"duration": float("inf"), "bytes": float("nan"), "attempt": _Float("-inf"),
                "error": {"detail": [float("inf"), 1.5]}}
    stored, metadata_json, _exact = storable_metadata_encoded(metadata)
    assert stored == {"duration": "Infinity", "bytes": "NaN", "attempt": "-Infinity",
                      "error": {"detail": ["Infinity", 1.5]}}
    assert json.loads(metadata_json, parse_constant=_no_constants) == stored


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ñpassword=hunter2", f"ñpassword={R}"),
        ("déjà_token: abc123", f"déjà_token: {R}"),
        ("x_A://user:hunter2@host", f"x_A://{R}@host"),
    ],
)
def test_a_secrets_name_after_a_letter_outside_ascii_or_an_underscore_is_still_found(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "unit",
    ["--no-password", "--password-", "no-apikey", "-A"],
    ids=["negated options", "options", "names without a value", "a scheme without ://"],
)
def test_a_long_run_of_names_that_never_get_a_value_is_kept_and_the_secret_after_it_is_not(unit: str) -> None:
    # these runs once cost every (start, end) pair of a name: a third of a second per 1,024 characters
    # (bench/bench_redaction_bombs.py); the value they end with must still be found
    run = (unit * 100)[:900]
    assert redact_text(f"{run} --password hunter2 https://u:hunter2@h") == f"{run} --password {R} https://{R}@h"
    assert redact_text(run) == run


@pytest.mark.parametrize(
    "metadata, kept",
    [
        ({"usage": {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42}},
         {"usage": {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42}}),
        ({"usage": {"max_tokens": 4096, "token_count": 7, "maxTokens": 8, "expires_in_token": 3600}},
         {"usage": {"max_tokens": 4096, "token_count": 7, "maxTokens": 8, "expires_in_token": 3600}}),
        ({"usage": {"token": 123456, "tokens": "abc", "secret_token_count": 5, "token_count": "7"}},
         {"usage": {"token": R, "tokens": R, "secret_token_count": R, "token_count": R}}),
        ({"usage": {"password_tokens": 1234, "api_token_max": True}},
         {"usage": {"password_tokens": R, "api_token_max": R}}),
    ],
    ids=["an LLM's usage counts", "limits and lifetimes", "a token itself, or text", "other secrets and booleans"],
)
def test_an_integer_that_counts_tokens_is_kept_where_a_token_would_be_redacted(metadata: dict, kept: dict) -> None:
    assert redaction.redact(metadata) == kept


def test_a_long_json_web_token_cut_before_its_signature_keeps_none_of_its_claims() -> None:
    claims = "eyJ" + "a" * 600  # a payload longer than the scan's cut
    token = f"eyJhbGciOiJIUzI1NiJ9.{claims}.c2lnbmF0dXJl"
    assert redaction.storable_id(f"repo {token}", 256) == f"repo {R}"
    assert redaction.redact({"error": f"bad {token}"}) == {"error": f"bad {R}"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("token=session = abc123", f"token={R} = {R}"),
        ("password = token: hunter22", f"password = {R}: {R}"),
        ("token = default = \"abc 123\"", f'token = {R} = "{R}"'),
        ("token = a = b = c", f"token = {R} = {R}"),
        ("token = a = <password>correct horse</password>", f"token = {R} = {R}"),
        ("token = a = mysql -uroot -phunter22", f"token = {R} = {R} -uroot -p{R}"),
        ("token=abc123 retries = 3", f"token={R} retries = 3"),
        ("password=hunter22 = expired", f"password={R} = expired"),
        ("session = expired = retrying", "session = expired = retrying"),
        ("token=abc123; user = bob", f"token={R}; user = bob"),
        ('{"password": "token: x1"}', f'{{"password": "{R}"}}'),
    ],
    ids=["a name chained by =", "a name chained by :", "a quoted value after a chain", "a longer chain",
         "a shape inside the chained value", "a command inside the chained value",
         "a word after a space is not chained", "a status word does not end a chain",
         "a status word does not start one", "a chain ends at a ;", "a quoted value is taken whole as before"],
)
def test_a_pair_chained_to_another_redacts_the_chained_value_and_stops_where_the_chain_does(
    text: str, expected: str
) -> None:
    assert redact_text(text) == expected
