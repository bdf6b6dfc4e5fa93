#include "jobs/json_text.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace shotfarm::jobs {
namespace {

namespace json = boost::json;

TEST(JsonText, NumbersReadLikeNumbers) {
    json::object o;
    o["cost_usd"] = 0.32;
    o["n"] = 3;
    o["tiny"] = 2.5e-7;
    o["nan"] = std::nan("");
    const std::string text = to_json_text(o);
    EXPECT_EQ(text, R"({"cost_usd":0.32,"n":3,"tiny":2.5e-07,"nan":null})");
    // And it is JSON that reads back to the same values.
    auto back = json::parse(text).as_object();
    EXPECT_EQ(back.at("cost_usd").as_double(), 0.32);
    EXPECT_EQ(back.at("tiny").as_double(), 2.5e-7);
}

TEST(JsonText, IndentedForPeople) {
    json::value v = json::parse(R"({"a":[1,{"b":"x\"y"}],"e":{},"f":[]})");
    EXPECT_EQ(
        to_json_text(v, 2),
        "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"x\\\"y\"\n    }\n  ],\n  \"e\": {},\n"
        "  \"f\": []\n}"
    );
    EXPECT_EQ(json::parse(to_json_text(v, 2)), v);
}

}  // namespace
}  // namespace shotfarm::jobs
