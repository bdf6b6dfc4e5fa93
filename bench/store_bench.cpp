// store_bench: how many jobs per second the PostgreSQL job store can take through a whole
// life (claim with Phase A → accepted → ready → downloaded), i.e. the database cost of one take,
// with the daemon's pool size. A throw-away embedded cluster in a temp dir; nothing else runs.
//
//   build/bench/store_bench [jobs=2000] [workers=8]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "jobs/engine/migrations.hpp"
#include "jobs/engine/store.hpp"
#include "jobs/shotlist.hpp"
#include "pg/embedded.hpp"
#include "pg/migrate.hpp"
#include "pg/pool.hpp"

namespace asio = boost::asio;
namespace jobs = shotfarm::jobs;
namespace pg = shotfarm::pg;

namespace {

jobs::shot_list make_list(int n) {
    jobs::shot_list l;
    l.file = "/bench/shots.yaml";
    l.project = "bench";
    for (int i = 0; i < n; ++i) {
        jobs::shot s;
        s.id = "s" + std::to_string(i);
        s.prompt = "benchmark shot " + std::to_string(i);
        s.spec_hash = "h" + std::to_string(i);
        l.shots.push_back(std::move(s));
    }
    return l;
}

asio::awaitable<void> worker(jobs::job_store& store, int& done) {
    for (;;) {
        auto claimed = co_await store.claim_for_submit("bench", [](const jobs::job_record&) {
            return std::optional<jobs::account_choice>(jobs::account_choice{
                "acct", "atlas", "minimax/hailuo-02/t2v-standard", 0.23});
        });
        if (!claimed) {
            co_return;
        }
        auto job = claimed->job;
        const std::string id = "pred-" + std::to_string(job.id);
        co_await store.record_accepted(job, claimed->attempt_id, id);
        job.state = jobs::job_state::running;
        const std::string url = "http://cdn/" + id + ".mp4";
        co_await store.record_ready(job, url);
        job.state = jobs::job_state::downloading;
        const std::string path = "/out/" + id + ".mp4";
        const std::string sha(64, 'a');
        co_await store.record_downloaded(job, path, sha, 4096);
        ++done;
    }
}

}  // namespace

int main(int argc, char** argv) {
    const int n = argc > 1 ? std::atoi(argv[1]) : 2000;
    const int workers = argc > 2 ? std::atoi(argv[2]) : 8;
    char tmpl[] = "/tmp/shotfarm-bench-XXXXXX";
    const std::filesystem::path dir = ::mkdtemp(tmpl);
    int done = 0;
    double ingest_s = 0;
    double cycle_s = 0;
    {
        auto cluster = pg::embedded_cluster::start(dir / "pg");
        pg::migrate(cluster.conninfo(), jobs::schema_migrations());
        asio::io_context ioc;
        pg::pool pool(ioc.get_executor(), cluster.conninfo(), 4);
        jobs::job_store store(pool, "bench:1:x", std::chrono::seconds(30));
        const auto list = make_list(n);
        asio::co_spawn(
            ioc,
            [&]() -> asio::awaitable<void> {
                auto t0 = std::chrono::steady_clock::now();
                co_await store.ingest(list);
                auto t1 = std::chrono::steady_clock::now();
                ingest_s = std::chrono::duration<double>(t1 - t0).count();
                for (int w = 0; w < workers; ++w) {
                    asio::co_spawn(ioc, worker(store, done), asio::detached);
                }
            },
            asio::detached
        );
        const auto t0 = std::chrono::steady_clock::now();
        ioc.run();
        cycle_s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() - ingest_s;
        pool.close();
        cluster.stop();
    }
    std::filesystem::remove_all(dir);
    std::printf(
        "jobs=%d workers=%d pool=4  ingest: %.2f s (%.0f jobs/s)  life cycle: %.2f s (%.0f jobs/s, "
        "%.2f ms/job)\n",
        n,
        workers,
        ingest_s,
        n / ingest_s,
        cycle_s,
        done / cycle_s,
        1000.0 * cycle_s / done
    );
    return done == n ? 0 : 1;
}
