# Seed: page capture 000_05c238add73bf4ea.txt, lines 29-68 (Atlas Cloud model page, "code example";
# the Indonesian version of https://www.atlascloud.ai/models/minimax/hailuo-02/fast).
# Differs from the page only in (the capture kept its indentation):
#   - `import os` added after `import time`
#   - "https://api.atlascloud.ai" -> os.environ['ATLASCLOUD_BASE_URL'] (2 places)
#   - "Bearer $ATLASCLOUD_API_KEY" -> f"Bearer {os.environ['ATLASCLOUD_API_KEY']}" (2 places)
#
# The model cannot accept what this sends: minimax/hailuo-02/fast is image-to-video only
# (Atlas's schema: image required) and this sends no image (its duration 3 is outside {6,10}
# too). The provider answers 400 {code,msg,request_id,data:null}
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
    "model": "minimax/hailuo-02/fast",
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
