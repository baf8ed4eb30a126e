#include "server.h"

#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "metrics.h"
#include "request.h"
#include "scheduler.h"

namespace sparkv::server {

using nlohmann::json;

namespace {

// Text from the model or a client may hold invalid UTF-8 (a byte-level token cut mid-character);
// it is written as U+FFFD rather than throwing while a response is being sent.
constexpr auto kReplace = json::error_handler_t::replace;

std::string finish_reason(const std::string& stop_reason) {
  if (stop_reason == "length" || stop_reason == "context_full") return "length";
  return "stop";
}

std::string random_id(const char* prefix) {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard<std::mutex> lk(mu);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s-%016llx", prefix, static_cast<unsigned long long>(rng()));
  return buf;
}

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(error_body(e), "application/json");
}

class HttpServer {
 public:
  HttpServer(const ServeOptions& o, api::Model model)
      : o_(o),
        model_(std::move(model)),
        sched_(model_, {.slots = o.slots,
                        .queue = o.queue,
                        .kv_budget = o.kv_mem_limit,
                        .n_ctx = o.ctx,
                        .prompt_cache_bytes = o.prompt_cache_bytes,
                        .cache_dir = o.cache_dir}) {
    lim_.n_ctx = sched_.n_ctx();
    lim_.max_tokens_limit = o.max_tokens_limit;
    lim_.default_press = api::Recipe::parse(o.press).spec();
    name_ = o.model_name.empty() ? std::filesystem::path(model_.path()).filename().string()
                                 : o.model_name;
    if (name_.empty())
      name_ = std::filesystem::path(model_.path()).parent_path().filename().string();
    routes();
  }

  httplib::Server& http() { return svr_; }
  void shutdown() {
    svr_.stop();
    sched_.stop();
  }

 private:
  void routes();
  void generate(Endpoint ep, const httplib::Request& req, httplib::Response& res);
  json usage(const Job& j, const std::string& spec) const;
  json completion_body(Endpoint ep, const std::string& id, const Job& j,
                       const std::string& spec) const;

  ServeOptions o_;
  api::Model model_;
  Scheduler sched_;
  RequestLimits lim_;
  std::string name_;
  Metrics metrics_;
  httplib::Server svr_;
  const int64_t created_ = static_cast<int64_t>(std::time(nullptr));
};

json HttpServer::usage(const Job& j, const std::string& spec) const {
  return {{"prompt_tokens", j.prompt.size()},
          // OpenAI's field: prompt tokens restored from the prompt cache instead of prefilled.
          {"prompt_tokens_details", {{"cached_tokens", j.cached_tokens}}},
          {"completion_tokens", j.result.ids.size()},
          {"total_tokens", j.prompt.size() + j.result.ids.size()},
          {"kv_press", spec},
          {"kv_bytes", j.kv.bytes},
          {"kv_bytes_dense_f16", j.kv.dense_f16_bytes},
          {"time_to_first_token_s", j.ttft_seconds},
          {"prefill_s", j.prefill_seconds},
          {"queue_s", j.queue_seconds}};
}

json HttpServer::completion_body(Endpoint ep, const std::string& id, const Job& j,
                                 const std::string& spec) const {
  json choice = {{"index", 0}, {"finish_reason", finish_reason(j.result.stop_reason)}};
  if (ep == Endpoint::kChat) {
    choice["message"] = {{"role", "assistant"}, {"content", j.result.text}};
    choice["logprobs"] = nullptr;
  } else {
    choice["text"] = j.result.text;
    choice["logprobs"] = nullptr;
  }
  return {{"id", id},
          {"object", ep == Endpoint::kChat ? "chat.completion" : "text_completion"},
          {"created", static_cast<int64_t>(std::time(nullptr))},
          {"model", name_},
          {"choices", json::array({choice})},
          {"usage", usage(j, spec)}};
}

void HttpServer::generate(Endpoint ep, const httplib::Request& req, httplib::Response& res) {
  const ParsedRequest p = parse_request(ep, req.body, model_, lim_);
  auto job = std::make_shared<Job>();
  job->prompt = p.prompt;
  job->recipe = p.recipe;
  job->gen = p.gen;
  switch (sched_.submit(job)) {
    case Scheduler::Submit::kQueued:
      break;
    case Scheduler::Submit::kStopping:
      throw ApiError(503, "the server is shutting down", "server_error", "shutting_down");
    case Scheduler::Submit::kQueueFull:
      throw ApiError(429, "the server is busy: every slot and queue place is taken; retry later",
                     "rate_limit_error", "queue_full");
    case Scheduler::Submit::kOverBudget:
      throw ApiError(503,
                     "this request needs " +
                         api::format_bytes(
                             sched_.reservation(p.prompt.size(), p.gen.max_tokens, job->recipe)) +
                         " of KV memory under '" + p.recipe_spec +
                         "' (the compressed cache + one dense layer during the prefill, or the "
                         "dense cache for full, plus max_tokens of decode rows), over the "
                         "server's --kv-mem-limit of " +
                         api::format_bytes(sched_.kv_budget()) +
                         ": send a shorter prompt, fewer max_tokens or a compressing kv_press",
                     "server_error", "kv_budget_exceeded");
  }
  metrics_.request_started();
  const std::string id = random_id(ep == Endpoint::kChat ? "chatcmpl" : "cmpl");
  const std::string spec = p.recipe_spec;
  if (!p.stream) {
    std::unique_lock<std::mutex> lk(job->mu);
    job->cv.wait(lk, [&] { return job->finished; });  // the scheduler always finishes a job
    lk.unlock();
    if (job->error_status != 0)
      throw ApiError(job->error_status, job->error,
                     job->error_status >= 500 ? "server_error" : "invalid_request_error");
    metrics_.request_done(*job);
    res.set_content(completion_body(ep, id, *job, spec).dump(-1, ' ', false, kReplace),
                    "application/json");
    return;
  }
  // Server-sent events: one chunk per piece of text, then the finish chunk (with usage), then
  // [DONE]. A write that fails means the client left: the job is cancelled and its slot freed.
  const std::string obj = ep == Endpoint::kChat ? "chat.completion.chunk" : "text_completion";
  const int64_t created = static_cast<int64_t>(std::time(nullptr));
  const bool with_usage = p.include_usage;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, job, id, obj, created, ep, spec, with_usage, first = true](
          size_t, httplib::DataSink& sink) mutable {
        auto chunk = [&](json delta_or_text, const json& finish) {
          json c = {{"index", 0}, {"finish_reason", finish}, {"logprobs", nullptr}};
          if (ep == Endpoint::kChat)
            c["delta"] = std::move(delta_or_text);
          else
            c["text"] = std::move(delta_or_text);
          return json{{"id", id},
                      {"object", obj},
                      {"created", created},
                      {"model", name_},
                      {"choices", json::array({c})}};
        };
        auto send = [&](const json& j) {
          const std::string s = "data: " + j.dump(-1, ' ', false, kReplace) + "\n\n";
          return sink.write(s.data(), s.size());
        };
        if (first && ep == Endpoint::kChat) {
          first = false;
          if (!send(chunk(json{{"role", "assistant"}, {"content", ""}}, nullptr))) {
            job->cancelled = true;
            return false;
          }
        }
        std::deque<std::string> pieces;
        bool finished;
        {
          std::unique_lock<std::mutex> lk(job->mu);
          job->cv.wait_for(lk, std::chrono::milliseconds(200),
                           [&] { return job->finished || !job->pieces.empty(); });
          pieces.swap(job->pieces);
          finished = job->finished;
        }
        for (const std::string& piece : pieces) {
          const json d = ep == Endpoint::kChat ? json{{"content", piece}} : json(piece);
          if (!send(chunk(d, nullptr))) {
            job->cancelled = true;
            return false;
          }
        }
        if (!finished) {
          if (!sink.is_writable()) {
            job->cancelled = true;
            return false;
          }
          return true;
        }
        if (job->error_status != 0) {
          send(json::parse(error_body(ApiError(job->error_status, job->error, "server_error"))));
        } else {
          metrics_.request_done(*job);
          json last = chunk(ep == Endpoint::kChat ? json::object() : json(""),
                            finish_reason(job->result.stop_reason));
          if (with_usage) last["usage"] = usage(*job, spec);
          send(last);
        }
        const std::string done = "data: [DONE]\n\n";
        sink.write(done.data(), done.size());
        sink.done();
        return true;
      },
      [job](bool success) {
        if (!success) job->cancelled = true;
      });
}

void HttpServer::routes() {
  svr_.set_payload_max_length(o_.max_body_bytes);
  svr_.set_read_timeout(30);
  svr_.set_write_timeout(30);
  // Each waiting client holds a worker: enough for every slot and queue place, plus a few for
  // /health and /metrics while the server is full.
  const size_t workers = static_cast<size_t>(o_.slots + o_.queue + 8);
  svr_.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };

  svr_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    metrics_.http_request();
    if (o_.api_key.empty() || req.path == "/health")
      return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    if (auth != "Bearer " + o_.api_key) {
      send_error(res, ApiError(401,
                               auth.empty() ? "missing API key: send 'Authorization: Bearer <key>'"
                                            : "incorrect API key provided",
                               "invalid_request_error", "invalid_api_key"));
      metrics_.http_error(401);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Statuses httplib sets itself (413 for a body over the limit, 404, 400 for a bad request line)
  // get an OpenAI-style body too.
  svr_.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        metrics_.http_error(res.status);
        std::string msg = "HTTP " + std::to_string(res.status);
        std::string code;
        if (res.status == 404)
          msg = "no such endpoint: " + req.method + " " + req.path, code = "not_found";
        if (res.status == 413)
          msg = "the request body is over the server's limit of " +
                std::to_string(o_.max_body_bytes) + " bytes",
          code = "request_too_large";
        if (res.status == 405) msg = "method not allowed: " + req.method + " " + req.path;
        send_error(res, ApiError(res.status, msg, "invalid_request_error", code));
        return httplib::Server::HandlerResponse::Handled;
      }));
  svr_.set_exception_handler(
      [this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        try {
          std::rethrow_exception(ep);
        } catch (const ApiError& e) {
          send_error(res, e);
        } catch (const std::bad_alloc&) {
          send_error(res, ApiError(503, "out of memory", "server_error"));
        } catch (const std::exception& e) {
          send_error(res, ApiError(500, e.what(), "server_error"));
        } catch (...) {
          send_error(res, ApiError(500, "unknown error", "server_error"));
        }
        metrics_.http_error(res.status);
      });

  svr_.Post("/v1/completions", [this](const httplib::Request& q, httplib::Response& r) {
    generate(Endpoint::kCompletions, q, r);
  });
  svr_.Post("/v1/chat/completions", [this](const httplib::Request& q, httplib::Response& r) {
    generate(Endpoint::kChat, q, r);
  });
  svr_.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    const api::ModelInfo info = model_.info(false);
    json m = {{"id", name_},
              {"object", "model"},
              {"created", created_},
              {"owned_by", "sparkv"},
              {"meta",
               {{"architecture", info.architecture},
                {"n_ctx", sched_.n_ctx()},
                {"n_ctx_train", info.n_ctx_train},
                {"n_vocab", info.n_vocab},
                {"n_layer", info.n_layer},
                {"head_dim", info.head_dim},
                {"default_kv_press", lim_.default_press}}}};
    res.set_content(
        json{{"object", "list"}, {"data", json::array({m})}}.dump(-1, ' ', false, kReplace),
        "application/json");
  });
  svr_.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    const SchedulerStats s = sched_.stats();
    res.set_content(json{{"status", "ok"},
                         {"slots_active", s.active},
                         {"slots_total", o_.slots},
                         {"queue", s.queued}}
                        .dump(-1, ' ', false, kReplace),
                    "application/json");
  });
  svr_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(sched_.stats(), o_.slots, sched_.kv_budget()),
                    "text/plain; version=0.0.4");
  });
}

int g_signal_pipe[2] = {-1, -1};

}  // namespace

int serve(const ServeOptions& o) {
  api::set_threads(o.threads);
  // SIGINT / SIGTERM write to a pipe that one thread reads and then stops the server (stop() is
  // not async-signal-safe). A handler, not sigwait(): OpenBLAS starts its threads when the
  // library loads, before any mask could be set, so the signal may land on any thread.
  if (pipe(g_signal_pipe) != 0) throw Error("cannot create the signal pipe");
  struct sigaction sa {};
  sa.sa_handler = [](int sig) {
    const char c = static_cast<char>(sig);
    [[maybe_unused]] const ssize_t n = write(g_signal_pipe[1], &c, 1);
  };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  api::Model model = api::Model::load(o.model, {.tokenizer = o.tokenizer});
  if (!model.has_tokenizer())
    throw Error(o.model + ": the model carries no tokenizer (pass --tokenizer)");
  HttpServer server(o, std::move(model));
  int port = o.port;
  if (port == 0) {
    port = server.http().bind_to_any_port(o.host);
    if (port < 0) throw Error("cannot bind to " + o.host);
  } else if (!server.http().bind_to_port(o.host, port)) {
    throw Error("cannot listen on " + o.host + ":" + std::to_string(port) +
                " (in use, or not an address of this machine)");
  }
  std::fprintf(stderr, "[sparkv] serving %s on http://%s:%d (slots %d, queue %d, press %s)\n",
               o.model.c_str(), o.host.c_str(), port, o.slots, o.queue, o.press.c_str());
  std::atomic<bool> signalled{false};
  std::thread sig([&] {
    char c = 0;
    while (read(g_signal_pipe[0], &c, 1) < 0 && errno == EINTR) {
    }
    if (c != 0) {
      signalled = true;
      std::fprintf(stderr, "[sparkv] signal %d: shutting down\n", static_cast<int>(c));
    }
    server.shutdown();
  });
  const bool ok = server.http().listen_after_bind();
  if (!signalled) {
    const char zero = 0;  // wake the signal thread: the server stopped on its own
    [[maybe_unused]] const ssize_t n = write(g_signal_pipe[1], &zero, 1);
  }
  sig.join();
  return ok || signalled ? 0 : 1;
}

}  // namespace sparkv::server
