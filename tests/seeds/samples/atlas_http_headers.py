# Seed: page capture 000_05c238add73bf4ea.txt, lines 87-93 (Atlas Cloud model page, "HTTP
# headers", the Indonesian version of https://www.atlascloud.ai/models/minimax/hailuo-02/fast;
# the same fragment is 001_a63fee936e3191c4.txt lines 46-51 and
# 004_7cfbc092f46ac534.txt lines 47-52, which lost their indentation and blank lines).
# Differs from the page in nothing: it already reads the key from $ATLASCLOUD_API_KEY and names
# no URL. It sends no request; the driver checks it runs, prints nothing and sends nothing.
import os

API_KEY = os.environ.get("ATLASCLOUD_API_KEY")
headers = {
    "Content-Type": "application/json",
    "Authorization": f"Bearer {API_KEY}"
}
