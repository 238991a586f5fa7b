"""The README's Next-Auth section shows the example app's configuration exactly as committed."""

import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(ROOT, "examples", "nextjs", "pages", "api", "auth", "[...nextauth].ts")


def test_readme_shows_the_example_nextauth_configuration():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    with open(EXAMPLE, encoding="utf-8") as f:
        code = f.read()
    section = readme[readme.index("## Pointing a Next-Auth app at it"):]
    block = section[section.index("```ts\n") + 6:]
    block = block[:block.index("```\n")]
    assert block == code, "README.md's Next-Auth code differs from examples/nextjs/pages/api/auth/[...nextauth].ts"
