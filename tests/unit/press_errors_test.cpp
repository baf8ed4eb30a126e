// Bad press specs for the eviction presses and ThinK: each is a sparkv::Error whose one-line
// message names the offending method / key / value and, where useful, what is valid.
#include <gtest/gtest.h>

#include "press/press_registry.h"
#include "press/press_spec.h"
#include "test_util.h"

namespace sparkv {
namespace {

std::string parse_error(const std::string& spec) {
  return test::error_message([&] { parse_press_spec(spec); });
}

void expect_mentions(const std::string& spec, std::initializer_list<const char*> parts) {
  const std::string msg = parse_error(spec);
  for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << spec << " -> " << msg;
}

TEST(PressErrors, UnknownMethodListsValidOnes) {
  expect_mentions("snapkvv:budget=10", {"snapkvv", "snapkv", "pyramidkv", "think", "h2o"});
  expect_mentions("snapkv:budget=128+thinkk:ratio=0.5", {"thinkk"});
}

// Every registered method rejects an unknown key by listing its registered keys, and its factory
// reads no key its registration leaves out (PressParams throws "internal: ... does not declare").
TEST(PressErrors, RegistryKeysAreWhatFactoriesRead) {
  for (const PressMethod* m : press_methods()) {
    const std::string msg = parse_error(std::string(m->name) + ":bogus_key=1");
    EXPECT_NE(msg.find("bogus_key"), std::string::npos) << m->name << " -> " << msg;
    for (const auto& k : m->keys) EXPECT_NE(msg.find(k.name), std::string::npos) << msg;
    // The factory reads every key through PressParams, which throws on an undeclared one.
    EXPECT_NO_THROW(parse_press_spec(m->example)) << m->example;
    EXPECT_EQ(std::string(m->example).rfind(std::string(m->name) + ":", 0), 0u) << m->example;
  }
}

TEST(PressErrors, UnknownKeyListsValidKeys) {
  expect_mentions("snapkv:budget=128,windw=32", {"windw", "window", "kernel"});
  expect_mentions("think:ratio=0.5,budget=10", {"budget", "recent"});
  expect_mentions("h2o:budget=10,window=4", {"window"});
}

TEST(PressErrors, BudgetAndRatioRanges) {
  // Every registered method that takes a token budget (read from the registry, so a new eviction
  // press is covered without editing this list).
  int n_budget = 0;
  for (const PressMethod* m : press_methods()) {
    bool budget = false;
    for (const auto& k : m->keys) budget = budget || std::string(k.name) == "budget";
    if (!budget) continue;
    ++n_budget;
    const std::string name = m->name;
    expect_mentions(name + ":budget=0", {"budget=0", "out of range"});
    expect_mentions(name + ":budget=-5", {"budget"});
    expect_mentions(name + ":ratio=1", {"ratio=1", "out of range"});
    expect_mentions(name + ":ratio=1.5", {"ratio"});
    expect_mentions(name + ":ratio=-0.1", {"ratio"});
    expect_mentions(name + ":ratio=abc", {"not a number"});
    expect_mentions(name, {"budget=N or ratio=R"});
    expect_mentions(name + ":budget=100,ratio=0.5", {"exactly one"});
  }
  EXPECT_GE(n_budget, 8);
  expect_mentions("think:ratio=1", {"ratio=1"});
  expect_mentions("think:ratio=-0.5", {"ratio"});
  expect_mentions("think:window=8", {"ratio=R"});
}

TEST(PressErrors, WindowLargerThanBudget) {
  expect_mentions("snapkv:budget=32", {"window=64", "budget=32"});
  expect_mentions("pyramidkv:budget=100,window=128", {"window=128", "budget=100"});
  expect_mentions("streamingllm:budget=3", {"sinks=4", "budget=3"});
  expect_mentions("expected:budget=2", {"sinks=4"});
  EXPECT_NO_THROW(parse_press_spec("snapkv:budget=32,window=32"));
}

TEST(PressErrors, OtherBadValues) {
  expect_mentions("snapkv:budget=128,kernel=4", {"kernel=4", "odd"});
  expect_mentions("pyramidkv:budget=128,compat=2", {"compat"});
  expect_mentions("pyramidkv:budget=128,beta=0", {"beta"});
  expect_mentions("think:ratio=0.5,window=0", {"window"});
  expect_mentions("expected:ratio=0.5,cov=3", {"cov"});
  expect_mentions("random:ratio=0.5,seed=x", {"seed", "not an integer"});
  // A storage press must come last.
  expect_mentions("think:ratio=0.5+snapkv:budget=128", {"think", "last"});
}

TEST(PressErrors, CanonicalSpecsRoundTrip) {
  for (const char* spec :
       {"snapkv:budget=128", "pyramidkv:ratio=0.5,compat=1", "streamingllm:budget=256",
        "h2o:ratio=0.3", "tova:budget=64", "knorm:budget=64", "random:ratio=0.2,seed=3",
        "expected:ratio=0.5,vnorm=0", "think:ratio=0.5,recent=32",
        "pyramidkv:budget=512+think:ratio=0.5"}) {
    const PressPipeline p = parse_press_spec(spec);
    EXPECT_EQ(parse_press_spec(p.spec()).spec(), p.spec()) << spec;
  }
  EXPECT_EQ(parse_press_spec("snapkv:budget=128").spec(), "snapkv:budget=128,window=64,kernel=5");
}

}  // namespace
}  // namespace sparkv
