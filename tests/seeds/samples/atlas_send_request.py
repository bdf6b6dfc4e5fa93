# Seed: page capture 000_05c238add73bf4ea.txt, lines 100-113 (Atlas Cloud model page, "send a
# request", the Indonesian version of https://www.atlascloud.ai/models/minimax/hailuo-02/fast;
# the same sample is 001_a63fee936e3191c4.txt lines 53-64 and
# 004_7cfbc092f46ac534.txt lines 54-65, which lost their indentation and blank lines).
# Differs from the page only in:
#   - `import os` added after `import requests`
#   - "https://api.atlascloud.ai" -> os.environ['ATLASCLOUD_BASE_URL'] + (1 place)
#   - "Bearer $ATLASCLOUD_API_KEY" -> f"Bearer {os.environ['ATLASCLOUD_API_KEY']}" (1 place)
#
# The model it names, "your-model", is a placeholder no account has: the provider answers 404
# "... not found or not available to your account" (https://atlascloud.ai/docs/en/errors) and the
# sample prints that answer and exits 0. The driver expects exactly that, and nothing billed.
import requests
import os

url = os.environ['ATLASCLOUD_BASE_URL'] + "/api/v1/model/generateVideo"
headers = {
    "Content-Type": "application/json",
    "Authorization": f"Bearer {os.environ['ATLASCLOUD_API_KEY']}"
}
data = {
    "model": "your-model",
    "prompt": "A beautiful landscape"
}

response = requests.post(url, headers=headers, json=data)
print(response.json())
