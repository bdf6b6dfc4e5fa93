# Seed: page capture 003_35a7f2f2873caecc.txt, lines 7-68 (AI/ML API hailuo-02 page, whose source
# is docs/api-references/video-models/minimax/hailuo-02.md in the aimlapi/api-docs repository: "Full
# Example: Generating and Retrieving the Video From the Server"; the legacy
# /v2/generate/video/minimax/generation endpoint).
# Differs from the page only in:
#   - indentation and blank lines restored (the capture lost them)
#   - `import os` added after `import time`
#   - "https://api.aimlapi.com" -> os.environ['AIMLAPI_BASE_URL'] + (1 place)
#   - "<YOUR_AIMLAPI_KEY>" -> os.environ['AIMLAPI_KEY'] (1 place)
import requests
import time
import os

# Insert your AIML API Key instead of <YOUR_AIMLAPI_KEY>:
base_url = os.environ['AIMLAPI_BASE_URL'] + "/v2"
api_key = os.environ['AIMLAPI_KEY']


# Creating and sending a video generation task to the server
def generate_video():
    url = f"{base_url}/generate/video/minimax/generation"
    headers = {
        "Authorization": f"Bearer {api_key}",
        "Content-Type": "application/json"
    }

    data = {
        "model": "minimax/hailuo-02",
        "prompt": "Mona Lisa puts on glasses with her hands.",
        "first_frame_image": "https://s2-111386.kwimgs.com/bs2/mmu-aiplatform-temp/kling/20240620/1.jpeg"
    }

    response = requests.post(url, json=data, headers=headers)

    if response.status_code >= 400:
        print(f"Error: {response.status_code} - {response.text}")
    else:
        response_data = response.json()
        return response_data


# Requesting the result of the task from the server using the generation_id
def get_video(gen_id):
    url = f"{base_url}/generate/video/minimax/generation"
    params = {
        "generation_id": gen_id,
    }
    headers = {
        "Authorization": f"Bearer {api_key}",
        "Content-Type": "application/json"
    }

    response = requests.get(url, params=params, headers=headers)
    return response.json()


def main():
    # Running video generation and getting a task id
    gen_response = generate_video()
    print(gen_response)
    gen_id = gen_response.get("generation_id")
    print("Generation ID: ", gen_id)

    # Trying to retrieve the video from the server every 10 sec
    if gen_id:
        start_time = time.time()
        timeout = 1000
        while time.time() - start_time < timeout:
            response_data = get_video(gen_id)

            if response_data is None:
                print("Error: No response from API")
                break

            status = response_data.get("status")
            print("Status:", status)

            if status == "waiting" or status == "active" or status == "queued" or status == "generating":
                print("Still waiting... Checking again in 10 seconds.")
                time.sleep(10)
            else:
                print("Processing complete:/n", response_data)
                return response_data

        print("Timeout reached. Stopping.")
        return None


if __name__ == "__main__":
    main()
