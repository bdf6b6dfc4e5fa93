# Seed: page capture 004_7cfbc092f46ac534.txt, lines 68-83 (Atlas Cloud model page, "request
# body"; the Hindi version of Atlas's "Hailuo 2.3 i2v Standard API by MiniMax" page).
# Differs from the page only in (indentation and blank lines restored: the capture lost them; as in seed 000's copy):
#   - `import os` added after `import requests`
#   - "https://api.atlascloud.ai" -> os.environ['ATLASCLOUD_BASE_URL'] + (1 place)
#   - "Bearer $ATLASCLOUD_API_KEY" -> f"Bearer {os.environ['ATLASCLOUD_API_KEY']}" (1 place)
#
# The model cannot accept what this sends: the body nests the prompt in `input` (Atlas bodies
# are flat, as Atlas's own MCP server sends them; an unknown field is ignored), so it carries no
# image, and minimax/hailuo-2.3/i2v-standard is image-to-video only (Atlas's schema). The provider
# answers 400 {code,msg,request_id,data:null} (https://atlascloud.ai/docs/en/errors); the sample
# then fails at result['id'] (KeyError) — it would read a top-level id even from a success, which
# Atlas wraps in `data`.
import requests
import os

url = os.environ['ATLASCLOUD_BASE_URL'] + "/api/v1/model/generateVideo"
headers = {
    "Content-Type": "application/json",
    "Authorization": f"Bearer {os.environ['ATLASCLOUD_API_KEY']}"
}

data = {
    "model": "minimax/hailuo-2.3/i2v-standard",
    "input": {
        "prompt": "A beautiful sunset over the ocean with gentle waves"
    }
}

response = requests.post(url, headers=headers, json=data)
result = response.json()

print(f"Prediction ID: {result['id']}")
print(f"Status: {result['status']}")
