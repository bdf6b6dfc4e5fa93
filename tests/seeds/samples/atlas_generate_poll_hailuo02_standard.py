# Seed: page capture 001_a63fee936e3191c4.txt, lines 8-41 (Atlas Cloud model page, "code example";
# the Chinese https://www.atlascloud.ai/zh/models/minimax/hailuo-02/standard).
# Differs from the page only in:
#   - indentation and blank lines restored (the capture lost them; as in seed 000's copy)
#   - `import os` added after `import time`
#   - "https://api.atlascloud.ai" -> os.environ['ATLASCLOUD_BASE_URL'] (2 places)
#   - "Bearer $ATLASCLOUD_API_KEY" -> f"Bearer {os.environ['ATLASCLOUD_API_KEY']}" (2 places)
#
# The model cannot accept what this sends: minimax/hailuo-02/standard takes a prompt without an
# image, and width/height/fps are ignored, but `duration` is a Hailuo parameter whose allowed
# values are 6 and 10 (Atlas's schema) and this sends 3. The provider answers 400
# {code,msg,request_id,data:null} naming duration
# (https://atlascloud.ai/docs/en/errors), so the sample stops at generate_result["data"]["id"]
# (data is null): the driver expects that 400 and a TypeError.
import requests
import time
import os

# Step 1: Start video generation
generate_url = os.environ['ATLASCLOUD_BASE_URL'] + "/api/v1/model/generateVideo"
headers = {
    "Content-Type": "application/json",
    "Authorization": f"Bearer {os.environ['ATLASCLOUD_API_KEY']}"
}
data = {
    "model": "minimax/hailuo-02/standard",
    "prompt": "A beautiful sunset over the ocean with gentle waves",
    "width": 512,
    "height": 512,
    "duration": 3,
    "fps": 24,
}

generate_response = requests.post(generate_url, headers=headers, json=data)
generate_result = generate_response.json()
prediction_id = generate_result["data"]["id"]

# Step 2: Poll for result
poll_url = f"{os.environ['ATLASCLOUD_BASE_URL']}/api/v1/model/prediction/{prediction_id}"

def check_status():
    while True:
        response = requests.get(poll_url, headers={"Authorization": f"Bearer {os.environ['ATLASCLOUD_API_KEY']}"})
        result = response.json()

        if result["data"]["status"] in ["completed", "succeeded"]:
            print("Generated video:", result["data"]["outputs"][0])
            return result["data"]["outputs"][0]
        elif result["data"]["status"] == "failed":
            raise Exception(result["data"]["error"] or "Generation failed")
        else:
            # Still processing, wait 2 seconds
            time.sleep(2)

video_url = check_status()
