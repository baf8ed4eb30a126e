// sparkv's Python bindings (pybind11) over the public C++ API, include/sparkv/ — nothing else.
// Long native calls (load, prefill, compress, generate, eval) run without the GIL; generation
// checks for Ctrl-C once per token; streaming runs the generation on a worker thread and hands
// text pieces to a Python iterator.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "sparkv/sparkv.h"

namespace py = pybind11;
namespace api = sparkv::api;

namespace {

std::string g_default_model;  // set by sparkv/__init__.py: the model shipped with the package

// A recipe argument: a spec string, a Recipe, or None (the full cache).
using RecipeArg = std::optional<std::variant<api::Recipe, std::string>>;
api::Recipe to_recipe(const RecipeArg& r) {
  if (!r) return api::Recipe();
  if (const auto* s = std::get_if<std::string>(&*r)) return api::Recipe::parse(*s);
  return std::get<api::Recipe>(*r);
}

// Ids from Python: ints in int32 range (a larger value would wrap silently in a cast).
std::vector<int32_t> to_ids(const std::vector<int64_t>& ids, const char* what) {
  std::vector<int32_t> out;
  out.reserve(ids.size());
  for (int64_t id : ids) {
    if (id < INT32_MIN || id > INT32_MAX)
      throw sparkv::Error(std::string(what) + ": token id " + std::to_string(id) +
                          " is out of range");
    out.push_back(static_cast<int32_t>(id));
  }
  return out;
}

py::dict kv_dict(const api::KvReport& k) {
  py::dict d;
  d["bytes"] = k.bytes;
  d["dense_f16_bytes"] = k.dense_f16_bytes;
  d["bytes_before_compress"] = k.bytes_before_compress;
  d["bytes_after_compress"] = k.bytes_after_compress;
  d["layers_by_storage"] = k.layers_by_storage;
  d["cache_type_k"] = k.cache_type_k;
  d["cache_type_v"] = k.cache_type_v;
  return d;
}

// What generate() returns to Python.
struct PyResult {
  std::string text;
  std::vector<int32_t> ids;
  std::string stop_reason;
  std::vector<int32_t> prompt_ids;
  api::KvReport kv;
  api::Timings timings;
  int decode_steps = 0;
  double decode_seconds = 0;
  std::string press;
};

struct SamplingArgs {
  int max_tokens = 64;
  api::SamplingParams sp;
  std::vector<std::string> stop;
  bool ignore_eos = false;
  api::GenerateOptions options() const {
    if (max_tokens < 0)
      throw sparkv::Error("max_tokens " + std::to_string(max_tokens) + " must be >= 0");
    sp.validate();
    api::GenerateOptions go;
    go.max_tokens = max_tokens;
    go.sampling = sp;
    go.stop = stop;
    go.stop_at_eos = !ignore_eos;
    return go;
  }
};

// A session and what Python needs to keep alive with it.
struct PySession {
  explicit PySession(api::Model m) : model(std::move(m)) {}
  api::Model model;
  std::unique_ptr<api::Session> s;
  std::vector<int32_t> prompt;  // of the last prefill
  std::string press = "full";
  std::mutex busy;  // a Session is used from one thread at a time: a second caller waits
};

// Runs f(session) holding the session's lock, without the GIL: a generation elsewhere holds the
// lock and takes the GIL once per token, so waiting for the lock with the GIL held would deadlock.
template <typename F>
auto locked(PySession& ps, F&& f) {
  py::gil_scoped_release nogil;
  std::lock_guard<std::mutex> lock(ps.busy);
  return f(*ps.s);
}

PyResult finish(PySession& ps, const api::GenerateResult& r) {
  PyResult out;
  out.text = r.text;
  out.ids = r.ids;
  out.stop_reason = r.stop_reason;
  out.prompt_ids = ps.prompt;
  out.kv = ps.s->kv();
  out.timings = ps.s->timings();
  out.decode_steps = r.decode_steps;
  out.decode_seconds = r.decode_seconds;
  out.press = ps.press;
  return out;
}

// Generation on the calling thread without the GIL, checking for Ctrl-C once per token.
PyResult generate_blocking(PySession& ps, api::GenerateOptions go) {
  bool interrupted = false;
  go.on_token = [&](int32_t, std::string_view) {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) {
      interrupted = true;
      return false;
    }
    return true;
  };
  const api::GenerateResult r = locked(ps, [&](api::Session& x) { return x.generate(go); });
  if (interrupted) throw py::error_already_set();
  return finish(ps, r);
}

// A streamed generation: a worker thread generates, __next__ returns the text pieces.
class TokenStream {
 public:
  TokenStream(std::shared_ptr<PySession> ps, api::GenerateOptions go) : ps_(std::move(ps)) {
    go.on_token = [this](int32_t, std::string_view text) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!text.empty()) pieces_.emplace_back(text);
      cv_.notify_one();
      return !cancel_.load();
    };
    worker_ = std::thread([this, go = std::move(go)] {
      try {
        std::lock_guard<std::mutex> busy(ps_->busy);
        const api::GenerateResult r = ps_->s->generate(go);
        std::lock_guard<std::mutex> lock(mu_);
        result_ = finish(*ps_, r);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu_);
        error_ = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      cv_.notify_one();
    });
  }
  ~TokenStream() { stop(); }
  TokenStream(const TokenStream&) = delete;
  TokenStream& operator=(const TokenStream&) = delete;

  std::string next() {
    for (;;) {
      {
        py::gil_scoped_release nogil;
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(100),
                     [this] { return !pieces_.empty() || done_; });
        if (!pieces_.empty()) {
          std::string s = std::move(pieces_.front());
          pieces_.pop_front();
          return s;
        }
        if (done_) {
          lock.unlock();
          join();
          if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
          throw py::stop_iteration();
        }
      }
      if (PyErr_CheckSignals() != 0) {
        stop();
        throw py::error_already_set();
      }
    }
  }

  // Ends the generation early (also on garbage collection of an unfinished stream).
  void stop() {
    cancel_ = true;
    py::gil_scoped_release nogil;
    join();
  }

  const PyResult& result() const {
    std::lock_guard<std::mutex> lock(mu_);
    if (!result_)
      throw sparkv::Error("stream: the generation has not finished (iterate to the end first)");
    return *result_;
  }

 private:
  void join() {
    if (worker_.joinable()) worker_.join();
  }
  std::shared_ptr<PySession> ps_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> pieces_;
  bool done_ = false;
  std::exception_ptr error_;
  std::optional<PyResult> result_;
  std::atomic<bool> cancel_{false};
  std::thread worker_;
};

api::Model load_model(const std::optional<std::string>& path, int threads,
                      const std::optional<std::string>& tokenizer) {
  if (threads < 0) throw sparkv::Error("threads " + std::to_string(threads) + " must be >= 0");
  if (threads > 0) api::set_threads(threads);
  // A bare name looks in the folder of the shipped default model ("sparkv-tiny-learned").
  const std::string p =
      path ? api::resolve_model_name(
                 *path, std::filesystem::path(g_default_model).parent_path().string())
           : g_default_model;
  if (p.empty()) throw sparkv::Error("no model path given and no embedded model found");
  std::error_code ec;
  if (!std::filesystem::exists(p, ec)) {
    PyErr_SetString(PyExc_FileNotFoundError, (p + ": no such file or directory").c_str());
    throw py::error_already_set();
  }
  api::LoadOptions lo;
  if (tokenizer) lo.tokenizer = *tokenizer;
  py::gil_scoped_release nogil;
  return api::Model::load(p, lo);
}

std::vector<int32_t> encode_prompt(const api::Model& m,
                                   const std::variant<std::string, std::vector<int64_t>>& prompt,
                                   bool chat, const std::optional<std::string>& system) {
  if (const auto* ids = std::get_if<std::vector<int64_t>>(&prompt)) {
    if (chat) throw sparkv::Error("chat=True needs a text prompt");
    return to_ids(*ids, "prompt");
  }
  const std::string& text = std::get<std::string>(prompt);
  const api::Tokenizer tok = m.tokenizer();
  if (chat) {
    std::vector<api::ChatMessage> msgs;
    if (system) msgs.push_back({"system", *system});
    msgs.push_back({"user", text});
    return tok.encode_chat(msgs, true);
  }
  // As `sparkv run -p` encodes: BOS when the vocabulary asks for it, special-token text as text.
  return tok.encode(text, tok.add_bos(), /*parse_special=*/false);
}

std::vector<api::ChatMessage> to_messages(const py::list& messages) {
  std::vector<api::ChatMessage> out;
  for (const py::handle& h : messages) {
    if (!py::isinstance<py::dict>(h))
      throw sparkv::Error(
          "apply_chat_template: each message must be a dict with 'role' and 'content'");
    const py::dict d = py::reinterpret_borrow<py::dict>(h);
    if (!d.contains("role") || !d.contains("content"))
      throw sparkv::Error("apply_chat_template: each message must have 'role' and 'content'");
    out.push_back({py::str(d["role"]), py::str(d["content"])});
  }
  return out;
}

SamplingArgs sampling_args(int max_tokens, float temperature, int top_k, float top_p, float min_p,
                           float repeat_penalty, uint64_t seed,
                           const std::optional<std::vector<std::string>>& stop, bool ignore_eos) {
  SamplingArgs a;
  a.max_tokens = max_tokens;
  a.sp.temperature = temperature;
  a.sp.top_k = top_k;
  a.sp.top_p = top_p;
  a.sp.min_p = min_p;
  a.sp.repeat_penalty = repeat_penalty;
  a.sp.seed = seed;
  if (stop) a.stop = *stop;
  a.ignore_eos = ignore_eos;
  return a;
}

std::shared_ptr<PySession> new_session(const api::Model& m, int64_t n_ctx, const std::string& ctk,
                                       const std::string& ctv, uint64_t kv_mem_limit) {
  auto ps = std::make_shared<PySession>(m);
  api::SessionOptions so;
  so.n_ctx = n_ctx;
  so.cache_type_k = ctk;
  so.cache_type_v = ctv;
  so.kv_mem_limit = kv_mem_limit;
  ps->s = std::make_unique<api::Session>(m, so);
  return ps;
}

}  // namespace

PYBIND11_MODULE(_sparkv, m) {
  m.doc() = "sparkv: long-context LLM inference with SparK KV-cache compression (C++ core)";
  static py::exception<sparkv::Error> error(m, "Error", PyExc_ValueError);
  error.attr("__doc__") =
      "Bad input to sparkv (a file, a recipe, a parameter): a one-line message.";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const sparkv::Error& e) {
      PyErr_SetString(error.ptr(), e.what());
    }
  });

  m.attr("_source_dir") = SPARKV_SOURCE_DIR;  // the build's source tree: models/ fallback
  m.def("_set_default_model", [](std::string p) { g_default_model = std::move(p); });
  m.def("_default_model", [] { return g_default_model; });
  m.def("version", &api::version, "The library's version string.");
  m.def("set_threads", &api::set_threads, py::arg("n"),
        "Threads for every parallel kernel (0 = all cores).");
  m.def("max_threads", &api::max_threads);

  py::class_<api::Recipe>(m, "Recipe",
                          R"(A KV-compression recipe: one or more presses joined by '+'.

    Recipe.parse("snapkv:budget=512+spark:ratio=0.8"); an unknown method or key raises
    sparkv.Error (a ValueError) with the same message as the CLI.)")
      .def(py::init<>(), "The full cache (no compression).")
      .def_static("parse", &api::Recipe::parse, py::arg("spec"),
                  "Parses a recipe such as 'spark:ratio=0.8'; raises sparkv.Error on a bad one.")
      .def_property_readonly("spec", &api::Recipe::spec,
                             "The canonical spec: every key with its value, defaults included.")
      .def_property_readonly("is_full", &api::Recipe::is_full)
      .def_static(
          "methods",
          [] {
            py::list out;
            for (const auto& meth : api::Recipe::methods()) {
              py::dict keys;
              for (const auto& k : meth.keys) keys[py::str(k.name)] = k.help;
              py::dict d;
              d["name"] = meth.name;
              d["help"] = meth.help;
              d["keys"] = keys;
              out.append(d);
            }
            return out;
          },
          "Every press method with its keys and help text.")
      .def("__str__", &api::Recipe::spec)
      .def("__repr__", [](const api::Recipe& r) { return "Recipe('" + r.spec() + "')"; });

  py::class_<PyResult>(m, "GenerateResult", "What a generation produced.")
      .def_readonly("text", &PyResult::text, "The generated text, cut before a stop string.")
      .def_readonly("ids", &PyResult::ids, "Every sampled token id (a stop token included).")
      .def_readonly("stop_reason", &PyResult::stop_reason,
                    "stop_token | stop_string | length | callback | context_full")
      .def_readonly("prompt_ids", &PyResult::prompt_ids)
      .def_readonly("press", &PyResult::press, "The recipe's canonical spec.")
      .def_property_readonly(
          "kv", [](const PyResult& r) { return kv_dict(r.kv); },
          "KV cache bytes: now, dense f16 equivalent, around compression.")
      .def_property_readonly("kv_bytes", [](const PyResult& r) { return r.kv.bytes; })
      .def_property_readonly("timings",
                             [](const PyResult& r) {
                               py::dict d;
                               d["prompt_tokens"] = r.timings.prompt_tokens;
                               d["prefill_seconds"] = r.timings.prefill_seconds;
                               d["compress_seconds"] = r.timings.compress_seconds;
                               d["decode_steps"] = r.decode_steps;
                               d["decode_seconds"] = r.decode_seconds;
                               return d;
                             })
      .def("__repr__", [](const PyResult& r) {
        return "GenerateResult(text=" + py::repr(py::str(r.text)).cast<std::string>() +
               ", tokens=" + std::to_string(r.ids.size()) + ", stop_reason='" + r.stop_reason +
               "', kv_bytes=" + std::to_string(r.kv.bytes) + ")";
      });

  py::class_<TokenStream>(m, "TokenStream",
                          "Iterator over the text pieces of a streamed generation; .result holds "
                          "the GenerateResult once it is exhausted, .close() stops it early.")
      .def("__iter__", [](TokenStream& s) -> TokenStream& { return s; })
      .def("__next__", &TokenStream::next)
      .def("close", &TokenStream::stop)
      .def_property_readonly("result", &TokenStream::result);

  py::class_<api::Model>(m, "Model", R"(A loaded checkpoint: a GGUF file or a Hugging Face folder.

    Model() loads the small model shipped with sparkv. The weights are shared: any number of
    Sessions on any threads may use one Model.)")
      .def(py::init(&load_model), py::arg("path") = py::none(), py::arg("threads") = 0,
           py::arg("tokenizer") = py::none(),
           "Loads `path` (GGUF or HF folder; None = the embedded model). threads > 0 sets the "
           "process-wide thread count. A missing file raises FileNotFoundError, a bad one "
           "sparkv.Error.")
      .def_property_readonly("path", &api::Model::path)
      .def_property_readonly("n_vocab", &api::Model::n_vocab)
      .def_property_readonly("n_ctx_train", &api::Model::n_ctx_train)
      .def(
          "info",
          [](const api::Model& mo) {
            const api::ModelInfo i = mo.info(false);
            py::dict d;
            d["path"] = i.path;
            d["format"] = i.format;
            d["architecture"] = i.architecture;
            d["n_layer"] = i.n_layer;
            d["n_embd"] = i.n_embd;
            d["n_head"] = i.n_head;
            d["n_head_kv"] = i.n_head_kv;
            d["head_dim"] = i.head_dim;
            d["n_ff"] = i.n_ff;
            d["n_vocab"] = i.n_vocab;
            d["n_ctx_train"] = i.n_ctx_train;
            d["rope_theta"] = i.rope_theta;
            d["weight_bytes"] = i.weight_bytes;
            return d;
          },
          "Hyperparameters, as `sparkv inspect` shows them.")
      .def(
          "tokenize",
          [](const api::Model& mo, const std::string& text, std::optional<bool> add_bos,
             bool parse_special) {
            const api::Tokenizer t = mo.tokenizer();
            return t.encode(text, add_bos.value_or(t.add_bos()), parse_special);
          },
          py::arg("text"), py::arg("add_bos") = py::none(), py::arg("parse_special") = false,
          "Token ids of `text` (BOS when the vocabulary asks for it, unless add_bos says).")
      .def(
          "detokenize",
          [](const api::Model& mo, const std::vector<int64_t>& ids, bool skip_special) {
            const std::vector<int32_t> v = to_ids(ids, "detokenize");
            for (int32_t id : v)
              if (id < 0 || id >= mo.n_vocab())
                throw sparkv::Error("detokenize: token id " + std::to_string(id) +
                                    " out of range [0, " + std::to_string(mo.n_vocab()) + ")");
            return mo.tokenizer().decode(v, skip_special);
          },
          py::arg("ids"), py::arg("skip_special") = false)
      .def(
          "apply_chat_template",
          [](const api::Model& mo, const py::list& messages, bool add_generation_prompt,
             const std::string& template_name, bool tokenize) -> py::object {
            const auto msgs = to_messages(messages);
            const api::Tokenizer t = mo.tokenizer();
            if (tokenize)
              return py::cast(t.encode_chat(msgs, add_generation_prompt, template_name));
            return py::cast(t.render_chat(msgs, add_generation_prompt, template_name));
          },
          py::arg("messages"), py::arg("add_generation_prompt") = true, py::arg("template") = "",
          py::arg("tokenize") = false,
          "Renders [{'role': ..., 'content': ...}, ...] with the model's chat template (or "
          "template= llama3 | chatml | qwen3 | mistral); tokenize=True returns ids.")
      .def(
          "generate",
          [](const api::Model& mo, const std::variant<std::string, std::vector<int64_t>>& prompt,
             int max_tokens, const RecipeArg& press, float temperature, int top_k, float top_p,
             float min_p, float repeat_penalty, uint64_t seed,
             const std::optional<std::vector<std::string>>& stop, bool ignore_eos, bool chat,
             const std::optional<std::string>& system, bool stream, int64_t n_ctx) -> py::object {
            const api::Recipe recipe = to_recipe(press);
            const SamplingArgs sa = sampling_args(max_tokens, temperature, top_k, top_p, min_p,
                                                  repeat_penalty, seed, stop, ignore_eos);
            const api::GenerateOptions go = sa.options();
            auto ps = new_session(mo, n_ctx, "f16", "f16", 0);
            ps->prompt = encode_prompt(mo, prompt, chat, system);
            ps->press = recipe.spec();
            {
              py::gil_scoped_release nogil;
              ps->s->prefill_and_compress(ps->prompt, recipe, seed);
            }
            if (stream) return py::cast(std::make_unique<TokenStream>(ps, go));
            return py::cast(generate_blocking(*ps, go));
          },
          py::arg("prompt"), py::kw_only(), py::arg("max_tokens") = 64,
          py::arg("press") = py::none(), py::arg("temperature") = 0.0f, py::arg("top_k") = 40,
          py::arg("top_p") = 0.95f, py::arg("min_p") = 0.05f, py::arg("repeat_penalty") = 1.0f,
          py::arg("seed") = 0, py::arg("stop") = py::none(), py::arg("ignore_eos") = false,
          py::arg("chat") = false, py::arg("system") = py::none(), py::arg("stream") = false,
          py::arg("n_ctx") = 0,
          R"(Prefills `prompt` (text, or a list of ids), compresses the cache with `press` and
generates. Greedy at temperature 0 — the same ids as `sparkv run -p TEXT --press PRESS`.
stream=True returns a TokenStream of text pieces instead of a GenerateResult.)");

  py::class_<PySession, std::shared_ptr<PySession>>(
      m, "Session",
      R"(One conversation's KV cache over a shared Model: prefill -> compress -> decode.

    s = sparkv.Session(model); s.prefill(ids, press="spark:ratio=0.8"); s.compress("spark:ratio=0.8")
    A Session is used from one thread at a time; use one Session per thread.)")
      .def(py::init(&new_session), py::arg("model"), py::arg("n_ctx") = 0,
           py::arg("cache_type_k") = "f16", py::arg("cache_type_v") = "f16",
           py::arg("kv_mem_limit") = 0,
           "n_ctx = 0: the model's trained context. kv_mem_limit (bytes): the prefill refuses a "
           "recipe whose memory plan (compressed cache + one dense layer, or the dense cache of "
           "n_ctx tokens) would not fit, naming one that would.")
      .def(
          "prefill",
          [](PySession& ps, const std::vector<int64_t>& ids, const py::object& press) {
            std::vector<api::Recipe> recipes;
            if (py::isinstance<py::list>(press) || py::isinstance<py::tuple>(press)) {
              for (const py::handle& h : press) recipes.push_back(to_recipe(h.cast<RecipeArg>()));
            } else if (!press.is_none()) {
              recipes.push_back(to_recipe(press.cast<RecipeArg>()));
            }
            ps.prompt = to_ids(ids, "prefill");
            locked(ps, [&](api::Session& x) { x.prefill(ps.prompt, recipes); });
          },
          py::arg("ids"), py::arg("press") = py::none(),
          "The first forward pass. `press` (a recipe or a list of them) says what to record so "
          "that compress() / fork() can apply it.")
      .def(
          "prefill_and_compress",
          [](PySession& ps, const std::vector<int64_t>& ids, const RecipeArg& press,
             uint64_t seed) {
            const api::Recipe r = to_recipe(press);
            ps.prompt = to_ids(ids, "prefill_and_compress");
            locked(ps, [&](api::Session& x) { x.prefill_and_compress(ps.prompt, r, seed); });
            ps.press = r.spec();
          },
          py::arg("ids"), py::arg("press"), py::arg("seed") = 0,
          "prefill + compress in one layer-major pass: only one layer's dense cache exists at a "
          "time, so peak memory follows the compressed cache. No fork() afterwards.")
      .def(
          "compress",
          [](PySession& ps, const RecipeArg& press, uint64_t seed) {
            const api::Recipe r = to_recipe(press);
            locked(ps, [&](api::Session& x) { x.compress(r, seed); });
            ps.press = r.spec();
          },
          py::arg("press"), py::arg("seed") = 0, "Compresses the prefill's cache in place.")
      .def(
          "fork",
          [](PySession& ps, const RecipeArg& press, uint64_t seed) {
            const api::Recipe r = to_recipe(press);
            auto out = std::make_shared<PySession>(ps.model);
            out->prompt = ps.prompt;
            out->press = r.spec();
            out->s = std::make_unique<api::Session>(
                locked(ps, [&](api::Session& x) { return x.fork(r, seed); }));
            return out;
          },
          py::arg("press") = py::none(), py::arg("seed") = 0,
          "A new Session continuing this prefill under `press` (call before compress()).")
      .def(
          "save_cache",
          [](PySession& ps, const std::string& path) {
            locked(ps, [&](api::Session& x) { x.save_cache_file(path); });
          },
          py::arg("path"),
          "Writes the session's state (compressed caches, position, history, last logits) as a "
          "prompt-cache file, the format `sparkv run --prompt-cache` and `sparkv serve "
          "--cache-dir` use.")
      .def_static(
          "load_cache",
          [](const api::Model& m, const std::string& path, int64_t n_ctx, const std::string& ctk,
             const std::string& ctv) {
            auto ps = std::make_shared<PySession>(m);
            api::SessionOptions so;
            so.n_ctx = n_ctx;
            so.cache_type_k = ctk;
            so.cache_type_v = ctv;
            {
              py::gil_scoped_release nogil;
              ps->s = std::make_unique<api::Session>(api::Session::load_cache_file(m, path, so));
            }
            ps->prompt = ps->s->history();
            ps->press = ps->s->recipe();
            return ps;
          },
          py::arg("model"), py::arg("path"), py::arg("n_ctx") = 0, py::arg("cache_type_k") = "f16",
          py::arg("cache_type_v") = "f16",
          "A Session restored from a prompt-cache file, continuing where the saved one stood "
          "(decode() or append() next). Raises sparkv.Error for a file that is corrupt, "
          "truncated, another version, or made with another model or cache types.")
      .def(
          "append",
          [](PySession& ps, const std::vector<int64_t>& ids) {
            const auto v = to_ids(ids, "append");
            locked(ps, [&](api::Session& x) { x.append(v); });
          },
          py::arg("ids"), "Feeds more tokens (a next turn) on top of the cache.")
      .def(
          "decode",
          [](const std::shared_ptr<PySession>& ps, int max_tokens, float temperature, int top_k,
             float top_p, float min_p, float repeat_penalty, uint64_t seed,
             const std::optional<std::vector<std::string>>& stop, bool ignore_eos,
             bool stream) -> py::object {
            const SamplingArgs sa = sampling_args(max_tokens, temperature, top_k, top_p, min_p,
                                                  repeat_penalty, seed, stop, ignore_eos);
            const api::GenerateOptions go = sa.options();
            if (stream) return py::cast(std::make_unique<TokenStream>(ps, go));
            return py::cast(generate_blocking(*ps, go));
          },
          py::kw_only(), py::arg("max_tokens") = 64, py::arg("temperature") = 0.0f,
          py::arg("top_k") = 40, py::arg("top_p") = 0.95f, py::arg("min_p") = 0.05f,
          py::arg("repeat_penalty") = 1.0f, py::arg("seed") = 0, py::arg("stop") = py::none(),
          py::arg("ignore_eos") = false, py::arg("stream") = false,
          "Samples from the last logits onward (ignore_eos: the end-of-sequence token does not "
          "end it).")
      .def(
          "logits",
          [](py::object self) {
            PySession& ps = self.cast<PySession&>();
            const std::vector<float>& l = ps.s->logits();
            // A read-only view of the session's buffer (it lives as long as the Session and is
            // rewritten by each forward pass): .copy() to keep a step's logits.
            py::array_t<float> a({static_cast<py::ssize_t>(l.size())}, {sizeof(float)}, l.data(),
                                 self);
            a.attr("setflags")(py::arg("write") = false);
            return a;
          },
          "The last fed token's logits [n_vocab]: a read-only NumPy view, no copy.")
      .def(
          "kv_bytes",
          [](PySession& ps) { return locked(ps, [](api::Session& x) { return x.kv(); }).bytes; },
          "Bytes the KV cache holds now.")
      .def(
          "kv",
          [](PySession& ps) { return kv_dict(locked(ps, [](api::Session& x) { return x.kv(); })); })
      .def_property_readonly(
          "n_past",
          [](PySession& ps) { return locked(ps, [](api::Session& x) { return x.n_past(); }); })
      .def_property_readonly("n_ctx", [](PySession& ps) { return ps.s->n_ctx(); })
      .def_property_readonly(
          "history",
          [](PySession& ps) { return locked(ps, [](api::Session& x) { return x.history(); }); })
      .def_property_readonly("press", [](PySession& ps) { return ps.press; });

  m.def("_run_eval",
        [](const api::Model& mo, const std::string& suite, const std::vector<int64_t>& lengths,
           int samples, uint64_t seed, const std::vector<std::string>& tasks,
           const std::vector<int>& depths, bool chat, const std::vector<std::string>& recipes,
           const std::string& out_dir, int fidelity_tokens, bool progress, bool plots) {
          api::EvalOptions o;
          o.suite = suite;
          o.lengths = lengths;
          o.samples = samples;
          o.seed = seed;
          o.tasks = tasks;
          o.depths = depths;
          o.chat = chat;
          o.recipes = recipes;
          o.out_dir = out_dir;
          o.fidelity_tokens = fidelity_tokens;
          o.progress = progress;
          o.plots = plots;
          py::gil_scoped_release nogil;
          const api::EvalSummary s = api::run_eval(mo, o);
          return std::make_pair(s.rows_written, s.rows_total);
        });
}
