# Seed: page capture 001_a63fee936e3191c4.txt, lines 67-82 (Atlas Cloud model page, "request
# body"; the Chinese https://www.atlascloud.ai/zh/models/minimax/hailuo-02/standard).
# Differs from the page only in (indentation and blank lines restored: the capture lost them; as in seed 000's copy):
#   - `import os` added after `import requests`
#   - "https://api.atlascloud.ai" -> os.environ['ATLASCLOUD_BASE_URL'] + (1 place)
#   - "Bearer $ATLASCLOUD_API_KEY" -> f"Bearer {os.environ['ATLASCLOUD_API_KEY']}" (1 place)
#
# The model cannot accept what this sends: the body nests the prompt in `input` (Atlas bodies
# are flat, as Atlas's own MCP server sends them; an unknown field is ignored), so it carries no
# prompt, which minimax/hailuo-02/standard requires (Atlas's schema). The provider answers 400
# {code,msg,request_id,data:null} naming the prompt (https://atlascloud.ai/docs/en/errors); the
# sample then fails at result['id'] (KeyError) — it would read a top-level id even from a success,
# which Atlas wraps in `data`.
import requests
import os

url = os.environ['ATLASCLOUD_BASE_URL'] + "/api/v1/model/generateVideo"
headers = {
    "Content-Type": "application/json",
    "Authorization": f"Bearer {os.environ['ATLASCLOUD_API_KEY']}"
}

data = {
    "model": "minimax/hailuo-02/standard",
    "input": {
        "prompt": "A beautiful sunset over the ocean with gentle waves"
    }
}

response = requests.post(url, headers=headers, json=data)
result = response.json()

print(f"Prediction ID: {result['id']}")
print(f"Status: {result['status']}")
