// Preemption and policies: when blocks run out the FCFS victim is the latest
// running request and the priority victim the lowest-priority one; a preempted
// request goes back to the front of the queue, resumes with its full block table
// and still finishes with all its tokens; priority orders admission.
#include <doctest/doctest.h>

#include <map>

#include "scheduler_factories.hpp"

using namespace actorlm;
using namespace actorlm::core;
using namespace actorlm::test;

TEST_CASE("scheduler: FCFS preempts the latest request, which resumes and finishes") {
    auto s = make_scheduler(small_config(8, 4, 32));  // 32 token slots
    REQUIRE(s->add_request(make_spec("a", iota_tokens(12, 0), 20)).ok());
    REQUIRE(s->add_request(make_spec("b", iota_tokens(12, 100), 20)).ok());
    std::map<std::string, int32_t> produced;
    std::map<std::string, request_output> done;
    bool saw_preempt = false, saw_resume = false;
    for (int i = 0; i < 100 && s->has_unfinished_requests(); ++i) {
        scheduler_output so;
        for (auto& o : step(*s, &so)) {
            produced[o.req_id] += static_cast<int32_t>(o.new_token_ids.size());
            if (o.finished()) done[o.req_id] = o;
        }
        if (!so.preempted_req_ids.empty()) {
            CHECK_FALSE(saw_preempt);  // exactly once in this script
            saw_preempt = true;
            CHECK(so.preempted_req_ids == std::vector<std::string>{"b"});
            CHECK(so.num_scheduled_tokens("a") == 1);
            CHECK(so.num_scheduled_tokens("b") == 0);
            CHECK(s->find("b")->status == request_status::preempted);
            CHECK(s->find("b")->num_computed_tokens == 0);
            CHECK(s->kv().block_ids("b").empty());
            CHECK(s->find("b")->num_output_tokens() == 5);  // tokens survive preemption
        }
        for (const auto& c : so.scheduled_cached_reqs)
            if (c.resumed_from_preemption) {
                saw_resume = true;
                CHECK(c.req_id == "b");
                CHECK(static_cast<int32_t>(c.new_block_ids.size()) ==
                      (c.num_computed_tokens + c.num_scheduled_tokens + 3) / 4);
                CHECK(c.num_output_tokens == 5);
                // the recompute covers prompt and earlier output tokens
                CHECK(c.new_token_ids.size() == static_cast<size_t>(17 - c.num_computed_tokens));
            }
    }
    CHECK(saw_preempt);
    CHECK(saw_resume);
    REQUIRE(done.size() == 2);
    CHECK(produced["a"] == 20);
    CHECK(produced["b"] == 20);
    CHECK(done["b"].num_output_tokens == 20);
    CHECK(s->stats().num_preemptions == 1);
    CHECK(s->kv().num_free_blocks() == 8);
}

TEST_CASE("scheduler: the priority policy preempts the lowest-priority request, not the latest") {
    for (auto policy : {scheduling_policy::fcfs, scheduling_policy::priority}) {
        auto cfg = small_config(9, 4, 36);
        cfg.policy = policy;
        auto s = make_scheduler(cfg);
        REQUIRE(s->add_request(make_spec("b", iota_tokens(8, 0), 30, 5)).ok());
        step(*s);
        REQUIRE(s->add_request(make_spec("a", iota_tokens(8, 100), 30, 0)).ok());
        REQUIRE(s->add_request(make_spec("c", iota_tokens(8, 200), 30, 1)).ok());
        std::string first_victim;
        for (int i = 0; i < 200 && s->has_unfinished_requests(); ++i) {
            scheduler_output so;
            step(*s, &so);
            if (first_victim.empty() && !so.preempted_req_ids.empty())
                first_victim = so.preempted_req_ids[0];
        }
        CHECK_FALSE(s->has_unfinished_requests());  // nobody starves
        CHECK(first_victim == (policy == scheduling_policy::priority ? "b" : "c"));
    }
}

TEST_CASE("scheduler: the priority policy admits lower values first, ties by arrival") {
    auto cfg = small_config(64);
    cfg.policy = scheduling_policy::priority;
    cfg.max_num_seqs = 1;
    auto s = make_scheduler(cfg);
    REQUIRE(s->add_request(make_spec("x", iota_tokens(4, 0), 1, 3)).ok());
    REQUIRE(s->add_request(make_spec("y", iota_tokens(4, 10), 1, 1)).ok());
    REQUIRE(s->add_request(make_spec("z", iota_tokens(4, 20), 1, 2)).ok());
    REQUIRE(s->add_request(make_spec("w", iota_tokens(4, 30), 1, 1)).ok());
    std::vector<std::string> order;
    while (s->has_unfinished_requests()) {
        scheduler_output so;
        step(*s, &so);
        for (auto& n : so.scheduled_new_reqs) order.push_back(n.req_id);
    }
    CHECK(order == std::vector<std::string>{"y", "w", "z", "x"});
}

TEST_CASE("scheduler: FCFS keeps arrival order and a preempted request re-enters first") {
    auto cfg = small_config(8, 4, 32);
    cfg.max_num_seqs = 2;
    auto s = make_scheduler(cfg);
    REQUIRE(s->add_request(make_spec("a", iota_tokens(12, 0), 20)).ok());
    REQUIRE(s->add_request(make_spec("b", iota_tokens(12, 100), 20)).ok());
    REQUIRE(s->add_request(make_spec("c", iota_tokens(4, 300), 2)).ok());
    std::vector<std::string> admitted;
    for (int i = 0; i < 200 && s->has_unfinished_requests(); ++i) {
        scheduler_output so;
        step(*s, &so);
        for (auto& c : so.scheduled_cached_reqs)  // batch order: cached, then new
            if (c.resumed_from_preemption) admitted.push_back(c.req_id + "*");
        for (auto& n : so.scheduled_new_reqs) admitted.push_back(n.req_id);
    }
    // b is preempted by a, comes back (b*) before c, which arrived later.
    std::string got;
    for (auto& a : admitted) got += a + " ";
    CHECK(got == "a b b* c ");
}
