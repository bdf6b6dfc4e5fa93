# Seed: page capture 000_05c238add73bf4ea.txt, lines 216-227 (Atlas Cloud model page, "upload
# example", the Indonesian version of https://www.atlascloud.ai/models/minimax/hailuo-02/fast;
# the same sample is 001_a63fee936e3191c4.txt lines 126-134 and
# 004_7cfbc092f46ac534.txt lines 127-135, which lost their indentation and blank lines).
# Differs from the page only in:
#   - `import os` added after `import requests`
#   - "https://api.atlascloud.ai" -> os.environ['ATLASCLOUD_BASE_URL'] + (1 place)
#   - "Bearer $ATLASCLOUD_API_KEY" -> f"Bearer {os.environ['ATLASCLOUD_API_KEY']}" (1 place)
# It reads image.png from the working directory (the driver writes a real 640x480 PNG there).
import requests
import os

url = os.environ['ATLASCLOUD_BASE_URL'] + "/api/v1/model/uploadMedia"
headers = { "Authorization": f"Bearer {os.environ['ATLASCLOUD_API_KEY']}" }

with open("image.png", "rb") as f:
    files = {"file": ("image.png", f, "image/png")}
    response = requests.post(url, headers=headers, files=files)

result = response.json()
download_url = result["data"]["download_url"]
print(f"File URL: {download_url}")
