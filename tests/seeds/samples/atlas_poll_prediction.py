# Seed: page capture 000_05c238add73bf4ea.txt, lines 161-182 (Atlas Cloud model page, "polling
# example", the Indonesian version of https://www.atlascloud.ai/models/minimax/hailuo-02/fast;
# the same sample is 001_a63fee936e3191c4.txt lines 91-108 and
# 004_7cfbc092f46ac534.txt lines 92-109, which lost their indentation and blank lines).
# Differs from the page only in:
#   - `import os` added after `import time`
#   - the placeholder "pred_abc123" -> os.environ['ATLASCLOUD_PREDICTION_ID'] (the page means "your
#     prediction's id"; the driver submits one and passes its id)
#   - "https://api.atlascloud.ai" -> {os.environ['ATLASCLOUD_BASE_URL']} (1 place)
#   - "Bearer $ATLASCLOUD_API_KEY" -> f"Bearer {os.environ['ATLASCLOUD_API_KEY']}" (1 place)
import requests
import time
import os

prediction_id = os.environ['ATLASCLOUD_PREDICTION_ID']
url = f"{os.environ['ATLASCLOUD_BASE_URL']}/api/v1/model/prediction/{prediction_id}"
headers = { "Authorization": f"Bearer {os.environ['ATLASCLOUD_API_KEY']}" }

while True:
    response = requests.get(url, headers=headers)
    result = response.json()
    status = result["data"]["status"]
    print(f"Status: {status}")

    if status in ["completed", "succeeded"]:
        output_url = result["data"]["outputs"][0]
        print(f"Output URL: {output_url}")
        break
    elif status == "failed":
        print(f"Error: {result['data'].get('error', 'Unknown')}")
        break

    time.sleep(3)
