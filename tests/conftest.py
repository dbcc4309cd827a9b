"""The tests read English unless a test asks for Chinese (--lang zh), whatever the machine's locale."""

import os

os.environ["CONVCALC_LANG"] = "en"
