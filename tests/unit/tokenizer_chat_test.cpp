// Chat templates: sparkv's renderers against the Jinja reference (@huggingface/jinja) on the
// models' own template texts, multi-turn, with and without the generation prompt.
#include <gtest/gtest.h>

#include "core/error.h"
#include "tokenizer/chat_template.h"
#include "tokenizer_test_util.h"

namespace sparkv {
namespace {

class ChatTemplateConformance : public ::testing::TestWithParam<const char*> {};

TEST_P(ChatTemplateConformance, RendersByteIdenticalToJinja) {
  const nlohmann::json fx = test::read_fixture_json(GetParam());
  const ChatTemplate t = ChatTemplate::from_text(fx.at("template"), fx.at("bos_token"),
                                                 fx.at("eos_token"));
  ASSERT_GE(fx.at("cases").size(), 10u);
  for (const auto& c : fx.at("cases")) {
    std::vector<ChatMessage> msgs;
    for (const auto& m : c.at("messages")) msgs.push_back({m.at("role"), m.at("content")});
    const std::string got = t.render(msgs, c.at("add_generation_prompt"));
    EXPECT_EQ(got, c.at("rendered").get<std::string>())
        << GetParam() << " messages=" << c.at("messages").dump()
        << " gen=" << c.at("add_generation_prompt");
  }
}

INSTANTIATE_TEST_SUITE_P(Families, ChatTemplateConformance,
                         ::testing::Values("chat_llama3.json", "chat_llama3_1_preamble.json",
                                           "chat_qwen2_5.json", "chat_qwen3.json",
                                           "chat_mistral.json"),
                         [](const auto& info) {
                           std::string n = info.param;
                           return n.substr(5, n.size() - 10);
                         });

TEST(ChatTemplate, DetectsFamiliesByMarkers) {
  EXPECT_EQ(detect_chat_format(test::read_fixture_json("chat_llama3.json").at("template")),
            ChatFormat::kLlama3);
  EXPECT_EQ(detect_chat_format(test::read_fixture_json("chat_qwen2_5.json").at("template")),
            ChatFormat::kChatML);
  EXPECT_EQ(detect_chat_format(test::read_fixture_json("chat_qwen3.json").at("template")),
            ChatFormat::kQwen3);
  EXPECT_EQ(detect_chat_format(test::read_fixture_json("chat_mistral.json").at("template")),
            ChatFormat::kMistral);
  const ChatTemplate q25 =
      ChatTemplate::from_text(test::read_fixture_json("chat_qwen2_5.json").at("template"));
  EXPECT_EQ(q25.default_system, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
  const ChatTemplate l3 =
      ChatTemplate::from_text(test::read_fixture_json("chat_llama3.json").at("template"));
  EXPECT_TRUE(l3.llama_preamble.empty());
}

TEST(ChatTemplate, UnknownTemplatesAndNamesAreClearErrors) {
  EXPECT_THROW(detect_chat_format("{{ messages }}"), Error);
  EXPECT_THROW(detect_chat_format(""), Error);
  EXPECT_THROW(chat_format_from_name("vicuna"), Error);
  for (const char* n : {"llama3", "chatml", "qwen3", "mistral"})
    EXPECT_STREQ(chat_format_name(chat_format_from_name(n)), n);
  try {
    detect_chat_format("<start_of_turn>user");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--chat-template"), std::string::npos) << e.what();
  }
}

TEST(ChatTemplate, MistralRejectsNonAlternatingRoles) {
  const ChatTemplate t = ChatTemplate::from_name("mistral", "<s>", "</s>");
  EXPECT_THROW(t.render({{"user", "a"}, {"user", "b"}}, true), Error);
  EXPECT_EQ(t.render({{"user", "a"}, {"assistant", "b"}, {"user", "c"}}, true),
            "<s>[INST] a [/INST]b</s>[INST] c [/INST]");
}

TEST(ChatTemplate, Qwen3ThinkingOffGenerationPrompt) {
  const std::string r = render_chat(ChatFormat::kQwen3, {{"user", "hi"}}, true);
  EXPECT_EQ(r, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

}  // namespace
}  // namespace sparkv
