#include "simulator/sim_state.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <boost/json/array.hpp>

#include "simulator/media.hpp"
#include "simulator/mp4.hpp"

namespace shotfarm::simulator {

namespace json = boost::json;

namespace {

// splitmix64: a tiny, portable mixer, so draws do not depend on the standard library's
// distributions (which differ between implementations).
std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// Draw streams: each kind of random decision uses its own, so adding one does not shift others.
constexpr std::uint64_t stream_gen_u1 = 1;
constexpr std::uint64_t stream_gen_u2 = 2;
constexpr std::uint64_t stream_outcome = 3;
constexpr std::uint64_t stream_succeeded = 4;
constexpr std::uint64_t stream_job_id = 5;
constexpr std::uint64_t stream_request_id = 6;
constexpr std::uint64_t stream_media_id = 7;
constexpr std::uint64_t stream_fault = 8;
constexpr std::uint64_t stream_download = 9;
constexpr std::uint64_t stream_minimax_id = 10;
constexpr std::uint64_t stream_minimax_file = 11;

// A 15-digit decimal id, like MiniMax's task and file ids.
std::string decimal_id(std::uint64_t bits) {
    return std::to_string(100000000000000ull + bits % 900000000000000ull);
}

double round2(double v) {
    return std::round(v * 100.0) / 100.0;
}

// A 300-byte id: the hex id repeated (longer than any provider's, over the 256 bytes a client
// may accept).
std::string long_id(const std::string& id) {
    std::string out;
    while (out.size() < 300) {
        out += id;
    }
    out.resize(300);
    return out;
}

}  // namespace

hostile_answer parse_hostile(std::string_view prompt) {
    hostile_answer h;
    const auto has = [prompt](std::string_view t) {
        return prompt.find(t) != std::string_view::npos;
    };
    if (has("[sim:url_ftp]")) {
        h.url = url_trap::ftp;
    } else if (has("[sim:url_foreign]")) {
        h.url = url_trap::foreign;
    } else if (has("[sim:url_private]")) {
        h.url = url_trap::private_address;
    } else if (has("[sim:redirect_foreign]")) {
        h.url = url_trap::redirect_foreign;
    } else if (has("[sim:redirect_private]")) {
        h.url = url_trap::redirect_private;
    } else {
        constexpr std::string_view redirect = "[sim:redirect:";
        const auto at = prompt.find(redirect);
        if (at != std::string_view::npos && at + redirect.size() + 1 < prompt.size() &&
            prompt[at + redirect.size() + 1] == ']') {
            const char n = prompt[at + redirect.size()];
            if (n >= '1' && n <= '5') {
                h.url = url_trap::redirect;
                h.redirects = n - '0';
            }
        }
    }
    if (has("[sim:id_climb]")) {
        h.id = id_trap::climb;
    } else if (has("[sim:id_ctrl]")) {
        h.id = id_trap::control;
    } else if (has("[sim:id_long]")) {
        h.id = id_trap::too_long;
    }
    h.bogus_status = has("[sim:status_bogus]");
    return h;
}

std::string_view to_string(job_phase phase) {
    switch (phase) {
        case job_phase::created:
            return "created";
        case job_phase::processing:
            return "processing";
        case job_phase::completed:
            return "completed";
        case job_phase::failed:
            return "failed";
    }
    return "unknown";
}

std::string_view outcome_name(const job& j, job_phase phase) {
    if (j.outcome == job_outcome::stuck) {
        return "stuck";
    }
    if (phase == job_phase::completed) {
        return "completed";
    }
    if (phase == job_phase::failed) {
        return j.outcome == job_outcome::moderated ? "moderated" : "failed";
    }
    return "pending";
}

sim_state::sim_state(sim_config config) : config_(std::move(config)) {
    for (const auto& k : config_.keys) {
        max_inflight_[k.key] = 0;
        spent_usd_[k.key] = 0.0;
        requests_[k.key] = request_counts{};
        request_window_[k.key] = window_peak{};
        submit_window_[k.key] = window_peak{};
    }
    for (const auto* p : {"atlas", "wavespeed", "minimax"}) {
        webhooks_[p] = webhook_counts{};
    }
}

sim_clock::duration sim_state::scaled(double provider_seconds) const {
    return std::chrono::duration_cast<sim_clock::duration>(
        std::chrono::duration<double>(provider_seconds * config_.time_scale)
    );
}

const key_config* sim_state::find_any_key(std::string_view key) const {
    for (const auto& k : config_.keys) {
        if (k.key == key) {
            return &k;
        }
    }
    return nullptr;
}

const key_config* sim_state::find_key(std::string_view key, std::string_view provider) const {
    for (const auto& k : config_.keys) {
        if (k.key == key && k.provider == provider) {
            return &k;
        }
    }
    return nullptr;
}

double sim_state::uniform(std::uint64_t seq, std::uint64_t stream) const {
    const auto bits = mix(mix(config_.seed ^ mix(stream)) + seq);
    return static_cast<double>(bits >> 11) * 0x1.0p-53;  // [0, 1)
}

std::string sim_state::hex_id(std::uint64_t stream, std::uint64_t n) const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string id;
    auto a = mix(mix(config_.seed ^ mix(stream)) + n);
    auto b = mix(a);
    for (auto part : {a, b}) {
        for (int i = 60; i >= 0; i -= 4) {
            id.push_back(digits[(part >> i) & 0xf]);
        }
    }
    return id;
}

sim_state::admission sim_state::admit(const key_config& key, double price_usd) {
    const auto t = now();
    auto& times = submit_times_[key.key];
    const auto window = std::chrono::duration_cast<sim_clock::duration>(
        std::chrono::duration<double>(config_.rate_window_s)
    );
    while (!times.empty() && times.front() <= t - window) {
        times.pop_front();
    }
    if (key.requests_per_minute > 0 && static_cast<int>(times.size()) >= key.requests_per_minute) {
        return admission::rate_limited;
    }
    times.push_back(t);
    if (key.max_concurrency > 0 && in_flight(key.key) >= key.max_concurrency) {
        return admission::over_concurrency;
    }
    auto& accepted = accepted_times_[key.key];
    while (!accepted.empty() && accepted.front() <= t - window) {
        accepted.pop_front();
    }
    if (key.submits_per_minute > 0 && static_cast<int>(accepted.size()) >= key.submits_per_minute) {
        return admission::submit_rate_limited;
    }
    if (key.balance_usd && spent_usd_[key.key] + price_usd > *key.balance_usd + 1e-9) {
        return admission::insufficient_balance;
    }
    return admission::accepted;
}

job& sim_state::accept(job j, std::optional<job_outcome> forced) {
    j.seq = jobs_.size();
    j.id = hex_id(stream_job_id, j.seq);
    if (j.provider == "minimax") {
        // MiniMax task ids are decimal strings ("106916112212032").
        j.id = decimal_id(mix(mix(config_.seed ^ mix(stream_minimax_id)) + j.seq));
        j.file_id = decimal_id(mix(mix(config_.seed ^ mix(stream_minimax_file)) + j.seq));
    }
    j.hostile = parse_hostile(j.prompt);
    switch (j.hostile.id) {
        case id_trap::climb:
            // Numbered so two such jobs stay apart; the first is exactly the issue's id.
            j.id = "../../../admin/delete?x=" + std::to_string(++climb_ids_);
            break;
        case id_trap::control:
            j.id = "job " + j.id.substr(0, 8) + "\x01" + j.id.substr(8);
            break;
        case id_trap::too_long:
            j.id = long_id(j.id);
            break;
        case id_trap::none:
            break;
    }
    j.submitted_wall = std::chrono::system_clock::now();
    j.submitted = now();

    // SIM.yaml `models`, then an explicit `default_timing`, then what the provider documents.
    model_timing timing = fallback_timing;
    if (const auto it = config_.models.find(j.model); it != config_.models.end()) {
        timing = it->second;
    } else if (config_.default_timing) {
        timing = *config_.default_timing;
    } else if (auto documented = documented_timing(j.provider, j.model, j.duration_s)) {
        timing = *documented;
    }
    // Box-Muller from two seeded uniforms; u1 in (0, 1] keeps the log finite.
    const double u1 = 1.0 - uniform(j.seq, stream_gen_u1);
    const double u2 = uniform(j.seq, stream_gen_u2);
    const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    j.speed_factor = speed_factor(j.provider);
    j.generation_s =
        round2(std::max(timing.median_s * std::exp(timing.sigma * z), 0.01) * j.speed_factor);
    j.generation_s = std::max(j.generation_s, 0.01);

    const auto& faults = config_.faults;
    if (forced) {
        j.outcome = *forced;
    } else if (draw_fault("stuck", faults.stuck)) {
        j.outcome = job_outcome::stuck;
    } else if (draw_fault("moderated", faults.moderated)) {
        j.outcome = job_outcome::moderated;
    } else if (draw_fault("generation_failed", faults.generation_failed)) {
        j.outcome = job_outcome::failure;
    } else {
        const double u = uniform(j.seq, stream_outcome);
        if (u < config_.moderation_fraction) {
            j.outcome = job_outcome::moderated;
        } else if (u < config_.moderation_fraction + config_.fail_fraction) {
            j.outcome = job_outcome::failure;
        }
    }
    j.reports_succeeded = uniform(j.seq, stream_succeeded) < config_.succeeded_fraction;

    const double queue_s = j.generation_s * config_.created_fraction;
    j.visible = j.submitted + scaled(config_.visibility_lag_s);
    j.processing = j.submitted + scaled(queue_s);
    switch (j.outcome) {
        case job_outcome::success:
            j.finishes = j.submitted + scaled(j.generation_s);
            j.predict_s = round2(j.generation_s - queue_s);
            break;
        case job_outcome::failure:
            // Fails half-way through.
            j.finishes = j.submitted + scaled(j.generation_s / 2);
            j.predict_s = round2(j.generation_s / 2 - queue_s);
            break;
        case job_outcome::moderated:
            // The safety checker rejects the input before generation starts.
            j.finishes = j.processing;
            j.predict_s = 0;
            break;
        case job_outcome::stuck:
            j.finishes = sim_clock::time_point::max();
            break;
    }
    if (j.outcome == job_outcome::success) {
        j.output = make_mp4(j.id, j.duration_s);
        j.output_sha256 = sha256_hex(j.output);
    }

    spent_usd_[j.key] += j.price_usd;
    accepted_times_[j.key].push_back(j.submitted);
    auto& max = max_inflight_[j.key];
    max = std::max(max, in_flight(j.key) + 1);

    jobs_.push_back(std::move(j));
    auto& stored = jobs_.back();
    job_index_.emplace(stored.id, jobs_.size() - 1);
    just_accepted_ = &stored;
    return stored;
}

job* sim_state::find_job(std::string_view id) {
    const auto it = job_index_.find(id);
    return it == job_index_.end() ? nullptr : &jobs_[it->second];
}

job* sim_state::find_job_by_file(std::string_view file_id) {
    for (auto& j : jobs_) {
        if (!j.file_id.empty() && j.file_id == file_id) {
            return &j;
        }
    }
    return nullptr;
}

bool sim_state::draw_fault(std::string_view name, double p) {
    if (p <= 0) {
        return false;
    }
    const bool hit = uniform(fault_counter_++, stream_fault) < p;
    if (hit) {
        ++faults_injected_[std::string(name)];
    }
    return hit;
}

std::string sim_state::issue_download(job& j, sim_clock::duration ttl) {
    auto token = hex_id(stream_download, download_counter_++);
    const bool born_expired = j.urls_issued++ < config_.minimax_expire_first_urls;
    downloads_.emplace(token, download{j.id, born_expired ? now() : now() + ttl});
    return token;
}

sim_state::download_lookup sim_state::find_download(std::string_view token, const job*& out) {
    const auto it = downloads_.find(token);
    if (it == downloads_.end()) {
        return download_lookup::unknown;
    }
    out = find_job(it->second.job_id);
    if (out != nullptr && now() >= it->second.expires) {
        return download_lookup::expired;
    }
    return out != nullptr ? download_lookup::ok : download_lookup::unknown;
}

job_phase sim_state::phase(const job& j) const {
    const auto t = now();
    if (t < j.processing) {
        return job_phase::created;
    }
    if (t < j.finishes) {
        return job_phase::processing;
    }
    return j.outcome == job_outcome::success ? job_phase::completed : job_phase::failed;
}

int sim_state::in_flight(std::string_view key) const {
    const auto t = now();
    return static_cast<int>(std::count_if(jobs_.begin(), jobs_.end(), [&](const job& j) {
        return j.key == key && t < j.finishes;
    }));
}

std::string sim_state::next_request_id() {
    return hex_id(stream_request_id, request_counter_++);
}

std::string sim_state::put_media(media_item item) {
    const auto info = sniff_image(item.bytes);
    const std::string ext = info ? info->extension : "bin";
    auto name = hex_id(stream_media_id, media_counter_++) + "." + ext;
    media_.emplace(name, std::move(item));
    return name;
}

const media_item* sim_state::find_media(std::string_view name) const {
    const auto it = media_.find(name);
    return it == media_.end() ? nullptr : &it->second;
}

double sim_state::elapsed_s() const {
    return std::chrono::duration<double>(now() - started_).count();
}

double sim_state::speed_factor(std::string_view provider) const {
    const double t = elapsed_s();
    const speed_change* best = nullptr;
    const auto consider = [&](const speed_change& c) {
        if (c.after_s <= t && (c.provider.empty() || c.provider == provider) &&
            (best == nullptr || c.after_s >= best->after_s)) {
            best = &c;
        }
    };
    for (const auto& c : config_.speed_changes) {
        consider(c);
    }
    for (const auto& c : runtime_speed_) {
        consider(c);
    }
    return best != nullptr ? best->factor : 1.0;
}

double sim_state::set_speed(double factor, std::string provider) {
    const double at = elapsed_s();
    runtime_speed_.push_back(speed_change{at, factor, std::move(provider)});
    return at;
}

double sim_state::draw_uniform(draw_stream stream, std::uint64_t n) const {
    return uniform(n, static_cast<std::uint64_t>(stream));
}

std::string sim_state::draw_bytes(draw_stream stream, std::uint64_t n, std::size_t n_bytes) const {
    std::string out;
    auto x = mix(mix(config_.seed ^ mix(static_cast<std::uint64_t>(stream))) + n);
    while (out.size() < n_bytes) {
        for (int i = 0; i < 8 && out.size() < n_bytes; ++i) {
            out.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
        }
        x = mix(x);
    }
    return out;
}

webhook_counts& sim_state::webhooks(std::string_view provider) {
    return webhooks_[std::string(provider)];
}

void sim_state::window_peak::add(sim_clock::time_point t, sim_clock::duration window) {
    while (!times.empty() && times.front() <= t - window) {
        times.pop_front();
    }
    times.push_back(t);
    peak = std::max(peak, times.size());
}

void sim_state::count_request(std::string_view key, request_kind kind) {
    const auto it = requests_.find(key);
    if (it == requests_.end()) {
        return;
    }
    if (kind != request_kind::download) {
        const auto t = now();
        const auto window = std::chrono::duration_cast<sim_clock::duration>(
            std::chrono::duration<double>(config_.rate_window_s)
        );
        request_window_.find(key)->second.add(t, window);
        if (kind == request_kind::submit) {
            submit_window_.find(key)->second.add(t, window);
        }
    }
    auto& c = it->second;
    switch (kind) {
        case request_kind::submit:
            ++c.submit;
            break;
        case request_kind::poll:
            ++c.poll;
            break;
        case request_kind::download:
            ++c.download;
            break;
        case request_kind::other:
            ++c.other;
            break;
    }
}

void sim_state::record_escaped(std::string_view target) {
    ++escaped_;
    if (escaped_paths_.size() < 100) {
        escaped_paths_.emplace_back(target);
    }
}

void sim_state::count_rejection(unsigned status, std::string_view reason) {
    ++rejected_by_status_[std::to_string(status)];
    ++rejected_by_reason_[std::string(reason)];
}

json::value sim_state::ledger_json() const {
    json::array submissions;
    for (const auto& j : jobs_) {
        const auto p = phase(j);
        json::object s;
        s["provider"] = j.provider;
        s["key"] = j.key;
        s["model"] = j.model;
        s["id"] = j.id;
        s["prompt"] = j.prompt;
        s["prompt_sha256"] = sha256_hex(j.prompt);
        s["outcome"] = outcome_name(j, p);
        s["image"] = j.image.empty() ? json::value(nullptr) : json::value(j.image);
        s["image_sha256"] =
            j.image_sha256.empty() ? json::value(nullptr) : json::value(j.image_sha256);
        s["duration"] = j.duration_s;
        s["price_usd"] = j.price_usd;
        s["submitted_at_ms"] = unix_ms(j.submitted_wall);
        s["at"] = iso8601(j.submitted_wall);
        // When the video became available, from the timeline (exact whoever polled when), once
        // that moment has passed.
        s["ready_at"] = p == job_phase::completed
                            ? json::value(iso8601(
                                  j.submitted_wall +
                                  std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                      j.finishes - j.submitted
                                  )
                              ))
                            : json::value(nullptr);
        s["status"] = p == job_phase::completed && j.reports_succeeded ? "succeeded" : to_string(p);
        s["sha256"] =
            p == job_phase::completed ? json::value(j.output_sha256) : json::value(nullptr);
        s["generation_s"] = j.generation_s;
        s["speed_factor"] = j.speed_factor;
        s["params"] = j.params;
        s["webhook_sent_at"] =
            j.webhook_sent_wall ? json::value(iso8601(*j.webhook_sent_wall)) : json::value(nullptr);
        s["webhook_posts"] = j.webhook_posts;
        s["fetches"] = json::object{{"file", j.file_fetches}, {"redirect", j.redirect_fetches}};
        submissions.push_back(std::move(s));
    }
    json::object max_inflight;
    for (const auto& [k, n] : max_inflight_) {
        max_inflight[k] = n;
    }
    json::object spent;
    for (const auto& [k, v] : spent_usd_) {
        spent[k] = v;
    }
    json::object by_status;
    for (const auto& [k, n] : rejected_by_status_) {
        by_status[k] = n;
    }
    json::object by_reason;
    for (const auto& [k, n] : rejected_by_reason_) {
        by_reason[k] = n;
    }
    json::object ledger;
    ledger["submissions"] = std::move(submissions);
    ledger["max_inflight"] = std::move(max_inflight);
    ledger["spent_usd"] = std::move(spent);
    ledger["rejected"] = std::move(by_status);
    ledger["rejected_reasons"] = std::move(by_reason);
    json::object faults;
    for (const auto& [k, n] : faults_injected_) {
        faults[k] = n;
    }
    ledger["faults"] = std::move(faults);
    json::object requests;
    for (const auto& [k, c] : requests_) {
        requests[k] = json::object{
            {"total", c.submit + c.poll + c.download + c.other},
            {"submit", c.submit},
            {"poll", c.poll},
            {"download", c.download},
            {"other", c.other}};
    }
    ledger["requests"] = std::move(requests);
    ledger["lag_404"] = lag_404_;
    ledger["uploads"] = media_.size();
    ledger["escaped_requests"] = escaped_;
    json::array escaped;
    for (const auto& p : escaped_paths_) {
        escaped.emplace_back(p);
    }
    ledger["escaped_paths"] = std::move(escaped);
    ledger["media_authorized"] = media_authorized_;
    ledger["rate_window_s"] = config_.rate_window_s;
    json::object peak_requests;
    for (const auto& [k, w] : request_window_) {
        peak_requests[k] = w.peak;
    }
    ledger["peak_requests_per_window"] = std::move(peak_requests);
    json::object peak_submits;
    for (const auto& [k, w] : submit_window_) {
        peak_submits[k] = w.peak;
    }
    ledger["peak_submits_per_window"] = std::move(peak_submits);
    json::object hooks;
    for (const auto& [p, c] : webhooks_) {
        hooks[p] = json::object{
            {"sent", c.sent},
            {"delivered", c.delivered},
            {"lost", c.lost},
            {"duplicated", c.duplicated},
            {"retried", c.retried},
            {"failed", c.failed},
            {"challenges", c.challenges},
            {"challenge_failed", c.challenge_failed}};
    }
    ledger["webhooks"] = std::move(hooks);
    return ledger;
}

}  // namespace shotfarm::simulator
