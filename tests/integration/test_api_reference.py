"""The API reference (htdocs/api.html) as the running server serves it, behind whichever web
server the suite runs against: a readable HTML page with a section per endpoint and topic,
linked from the index page. That it names every endpoint and error text of the code is
tests/lint/api-reference's job."""

import re

SECTIONS = {"conventions": "Conventions", "endpoints": "Endpoints", "tokens": "Tokens",
            "google-login": "Sign in with Google", "refresh": "Refresh",
            "sessions": "Sessions, rotation and reuse", "verify": "Verify",
            "user": "The signed-in user", "logout": "Logout", "cors": "CORS",
            "cookies": "Cookie mode and CSRF", "health": "Health",
            "client-config": "Client configuration", "posts": "Example protected endpoint",
            "errors": "Errors every endpoint can give", "settings": "Settings that change the API"}


def test_reference_is_served_as_html(server):
    r = server.get("/api.html")
    assert r.status_code == 200
    assert r.headers["Content-Type"].split(";")[0].strip() == "text/html"
    page = r.content.decode("utf-8")
    assert "<title>socialauth API reference</title>" in page
    headings = dict(re.findall(r'<h2 id="([^"]+)">(.*?)</h2>', page))
    for sid, title in SECTIONS.items():
        assert sid in headings, sid
        assert re.sub(r"<[^>]+>", "", headings[sid]).startswith(title), (sid, headings[sid])
    # the table of contents points at each section
    for sid in SECTIONS:
        assert f'href="#{sid}"' in page, sid
    # what a reader looks for first is there, exactly as the endpoints answer it
    assert '{"detail":"Token is blacklisted","code":"token_not_valid"}' in page


def test_index_page_links_to_reference(server):
    r = server.get("/")
    assert r.status_code == 200
    assert '<a id="api-reference" href="api.html">' in r.text
    assert server.get("/api.html").status_code == 200
