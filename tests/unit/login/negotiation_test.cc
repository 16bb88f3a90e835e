#include "iser_client/login/negotiation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace isergw::iscsi {
namespace {

using ::testing::HasSubstr;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

NegotiationOptions TcpOptions() {
  NegotiationOptions o;
  o.header_digests = {Digest::kCrc32c, Digest::kNone};
  o.data_digests = {Digest::kNone};
  o.max_recv_data_segment_length = 131072;
  o.max_burst_length = 1048576;
  o.first_burst_length = 262144;
  o.immediate_data = true;
  o.initial_r2t = false;
  o.max_outstanding_r2t = 4;
  o.default_time2wait = 2;
  o.default_time2retain = 20;
  o.error_recovery_level = 0;
  o.max_connections = 1;
  return o;
}

OperationalNegotiator Offered(const NegotiationOptions& o,
                              SessionType type = SessionType::kNormal) {
  auto n = OperationalNegotiator::Create(o, type);
  EXPECT_TRUE(n.ok()) << n.status();
  n->TakeOffer();
  return *std::move(n);
}

// Applies one answer and returns the status.
absl::Status Answer(OperationalNegotiator& n, const std::string& key, const std::string& value) {
  auto r = n.ApplyResponse({{key, value}});
  return r.status();
}

TEST(NegotiationOfferTest, NormalTcpOffersEveryKey) {
  auto n = OperationalNegotiator::Create(TcpOptions(), SessionType::kNormal);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->TakeOffer(), (TextPairs{{"HeaderDigest", "CRC32C,None"},
                                       {"DataDigest", "None"},
                                       {"MaxRecvDataSegmentLength", "131072"},
                                       {"MaxConnections", "1"},
                                       {"InitialR2T", "No"},
                                       {"ImmediateData", "Yes"},
                                       {"MaxBurstLength", "1048576"},
                                       {"FirstBurstLength", "262144"},
                                       {"DefaultTime2Wait", "2"},
                                       {"DefaultTime2Retain", "20"},
                                       {"MaxOutstandingR2T", "4"},
                                       {"DataPDUInOrder", "Yes"},
                                       {"DataSequenceInOrder", "Yes"},
                                       {"ErrorRecoveryLevel", "0"}}));
  EXPECT_TRUE(n->TakeOffer().empty());  // offered once
  EXPECT_EQ(n->params().max_recv_data_segment_length, 131072u);
}

TEST(NegotiationOfferTest, DiscoveryOffersOnlyWhatMatters) {
  auto n = OperationalNegotiator::Create(TcpOptions(), SessionType::kDiscovery);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->TakeOffer(), (TextPairs{{"HeaderDigest", "CRC32C,None"},
                                       {"DataDigest", "None"},
                                       {"MaxRecvDataSegmentLength", "131072"}}));
}

TEST(NegotiationOfferTest, IserOffersRdmaKeysInsteadOfTcpOnes) {
  NegotiationOptions o = TcpOptions();
  o.iser = true;
  o.initiator_recv_data_segment_length = 65536;
  o.max_outstanding_unexpected_pdus = 8;
  auto n = OperationalNegotiator::Create(o, SessionType::kNormal);
  ASSERT_TRUE(n.ok());
  const TextPairs offer = n->TakeOffer();
  EXPECT_EQ(FindValue(offer, "MaxRecvDataSegmentLength"), nullptr);
  // iSER has no digests: offer only None.
  ASSERT_NE(FindValue(offer, "HeaderDigest"), nullptr);
  EXPECT_EQ(*FindValue(offer, "HeaderDigest"), "None");
  EXPECT_EQ(*FindValue(offer, "DataDigest"), "None");
  ASSERT_NE(FindValue(offer, "RDMAExtensions"), nullptr);
  EXPECT_EQ(*FindValue(offer, "RDMAExtensions"), "Yes");
  EXPECT_EQ(*FindValue(offer, "InitiatorRecvDataSegmentLength"), "65536");
  // LIO holds the login until the initiator sends this one too.
  ASSERT_NE(FindValue(offer, "TargetRecvDataSegmentLength"), nullptr);
  EXPECT_EQ(*FindValue(offer, "TargetRecvDataSegmentLength"), "8192");
  EXPECT_EQ(*FindValue(offer, "MaxOutstandingUnexpectedPDUs"), "8");
  EXPECT_EQ(*FindValue(offer, "MaxBurstLength"), "1048576");
  EXPECT_EQ(n->params().initiator_recv_data_segment_length, 65536u);
}

TEST(NegotiationOfferTest, TcpOffersNoIserKeys) {
  for (SessionType type : {SessionType::kNormal, SessionType::kDiscovery}) {
    auto n = OperationalNegotiator::Create(TcpOptions(), type);
    ASSERT_TRUE(n.ok());
    const TextPairs offer = n->TakeOffer();
    for (const char* key : {"RDMAExtensions", "InitiatorRecvDataSegmentLength",
                            "TargetRecvDataSegmentLength", "MaxOutstandingUnexpectedPDUs"}) {
      EXPECT_EQ(FindValue(offer, key), nullptr) << key;
    }
  }
}

TEST(NegotiationOfferTest, IserDiscoveryOffersTheIserKeySet) {
  NegotiationOptions o = TcpOptions();
  o.iser = true;
  o.initiator_recv_data_segment_length = 8192;
  auto n = OperationalNegotiator::Create(o, SessionType::kDiscovery);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->TakeOffer(), (TextPairs{{"HeaderDigest", "None"},
                                       {"DataDigest", "None"},
                                       {"RDMAExtensions", "Yes"},
                                       {"InitiatorRecvDataSegmentLength", "8192"},
                                       {"TargetRecvDataSegmentLength", "8192"}}));
  // A discovery target that takes no iSER keys does not fail the login.
  EXPECT_TRUE(n->ApplyResponse({{"HeaderDigest", "None"}, {"DataDigest", "None"}}).ok());
  EXPECT_TRUE(n->Finish().ok());
}

TEST(NegotiationOfferTest, IserDiscoveryAcceptsRdmaExtensionsNo) {
  // LIO's answer in a Discovery session over iSER: the SendTargets text
  // still comes as iSER Sends, no RDMA data movement is needed.
  NegotiationOptions o = TcpOptions();
  o.iser = true;
  for (const char* answer : {"No", "Irrelevant", "NotUnderstood"}) {
    auto n = Offered(o, SessionType::kDiscovery);
    ASSERT_TRUE(
        n.ApplyResponse({{"RDMAExtensions", answer}, {"TargetRecvDataSegmentLength", "Irrelevant"}})
            .ok())
        << answer;
    ASSERT_TRUE(n.Finish().ok()) << answer;
    EXPECT_FALSE(n.params().rdma_extensions);
  }
  // A Normal session still fails on it.
  auto normal = Offered(o, SessionType::kNormal);
  EXPECT_FALSE(Answer(normal, "RDMAExtensions", "No").ok());
}

TEST(NegotiationOptionsTest, RejectsBadOptions) {
  NegotiationOptions o = TcpOptions();
  o.first_burst_length = o.max_burst_length + 1;
  EXPECT_FALSE(OperationalNegotiator::Create(o, SessionType::kNormal).ok());
  o = TcpOptions();
  o.max_burst_length = 511;
  EXPECT_FALSE(OperationalNegotiator::Create(o, SessionType::kNormal).ok());
  o = TcpOptions();
  o.max_recv_data_segment_length = 1u << 24;
  EXPECT_FALSE(OperationalNegotiator::Create(o, SessionType::kNormal).ok());
  o = TcpOptions();
  o.error_recovery_level = 3;
  EXPECT_FALSE(OperationalNegotiator::Create(o, SessionType::kNormal).ok());
  o = TcpOptions();
  o.header_digests.clear();
  EXPECT_FALSE(OperationalNegotiator::Create(o, SessionType::kNormal).ok());
}

TEST(DigestNegotiationTest, ListSelection) {
  auto n = Offered(TcpOptions());
  ASSERT_TRUE(Answer(n, "HeaderDigest", "CRC32C").ok());
  ASSERT_TRUE(Answer(n, "DataDigest", "None").ok());
  EXPECT_EQ(n.params().header_digest, Digest::kCrc32c);
  EXPECT_EQ(n.params().data_digest, Digest::kNone);
}

TEST(DigestNegotiationTest, AnswerMustBeOneOfferedValue) {
  auto n = Offered(TcpOptions());
  auto s = Answer(n, "DataDigest", "CRC32C");  // we offered None only
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(Msg(s), HasSubstr("DataDigest=CRC32C"));
  auto k = Offered(TcpOptions());
  EXPECT_FALSE(Answer(k, "HeaderDigest", "CRC32C,None").ok());
  auto m = Offered(TcpOptions());
  EXPECT_FALSE(Answer(m, "HeaderDigest", "MD5").ok());
}

TEST(DigestNegotiationTest, RejectFallsBackToNoneOnlyIfAcceptable) {
  auto n = Offered(TcpOptions());
  ASSERT_TRUE(Answer(n, "HeaderDigest", "Reject").ok());
  EXPECT_EQ(n.params().header_digest, Digest::kNone);

  NegotiationOptions o = TcpOptions();
  o.header_digests = {Digest::kCrc32c};
  auto strict = Offered(o);
  auto s = Answer(strict, "HeaderDigest", "Reject");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(Msg(s), HasSubstr("HeaderDigest=Reject"));
}

struct MinCase {
  const char* key;
  uint32_t SessionParams::*field;
  const char* lower;  // valid answer below our offer
  uint32_t lower_value;
  const char* above;  // above our offer: violates Min
  const char* out_of_range;
};

class MinKeyTest : public ::testing::TestWithParam<MinCase> {};

TEST_P(MinKeyTest, TakesLowerAnswerAndRejectsHigherOrOutOfRange) {
  const MinCase& c = GetParam();
  NegotiationOptions o = TcpOptions();
  o.max_connections = 4;
  o.error_recovery_level = 2;
  {
    auto n = Offered(o);
    ASSERT_TRUE(Answer(n, c.key, c.lower).ok()) << c.key;
    EXPECT_EQ(n.params().*c.field, c.lower_value) << c.key;
  }
  {
    auto n = Offered(o);
    auto s = Answer(n, c.key, c.above);
    ASSERT_FALSE(s.ok()) << c.key;
    EXPECT_THAT(Msg(s), HasSubstr(std::string(c.key) + "=" + c.above));
  }
  {
    auto n = Offered(o);
    auto s = Answer(n, c.key, c.out_of_range);
    ASSERT_FALSE(s.ok()) << c.key;
    EXPECT_THAT(Msg(s), HasSubstr(c.key));
  }
  {
    auto n = Offered(o);
    EXPECT_FALSE(Answer(n, c.key, "12abc").ok()) << c.key;
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllMinKeys, MinKeyTest,
    ::testing::Values(
        MinCase{"MaxBurstLength", &SessionParams::max_burst_length, "65536", 65536, "1048577",
                "511"},
        MinCase{"FirstBurstLength", &SessionParams::first_burst_length, "0x10000", 65536, "262145",
                "100"},
        MinCase{"MaxConnections", &SessionParams::max_connections, "2", 2, "5", "0"},
        MinCase{"MaxOutstandingR2T", &SessionParams::max_outstanding_r2t, "1", 1, "5", "0"},
        MinCase{"DefaultTime2Retain", &SessionParams::default_time2retain, "0", 0, "21", "3601"},
        MinCase{"ErrorRecoveryLevel", &SessionParams::error_recovery_level, "1", 1, "3", "3"}));

TEST(MinKeyTest, MaxBurstLengthAboveTwoToThe24IsOutOfRange) {
  NegotiationOptions o = TcpOptions();
  o.max_burst_length = (1u << 24) - 1;
  auto n = Offered(o);
  auto s = Answer(n, "MaxBurstLength", "16777216");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(Msg(s), HasSubstr("out of range"));
  auto m = Offered(o);
  ASSERT_TRUE(Answer(m, "MaxBurstLength", "16777215").ok());
  EXPECT_EQ(m.params().max_burst_length, 16777215u);
}

TEST(MaxKeyTest, DefaultTime2Wait) {
  NegotiationOptions o = TcpOptions();
  o.default_time2wait = 5;
  auto n = Offered(o);
  ASSERT_TRUE(Answer(n, "DefaultTime2Wait", "10").ok());
  EXPECT_EQ(n.params().default_time2wait, 10u);
  auto m = Offered(o);
  auto s = Answer(m, "DefaultTime2Wait", "4");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(Msg(s), HasSubstr("DefaultTime2Wait=4"));
  auto k = Offered(o);
  EXPECT_FALSE(Answer(k, "DefaultTime2Wait", "3601").ok());
}

struct BoolCase {
  const char* key;
  bool SessionParams::*field;
  bool is_and;
};

class BoolKeyTest : public ::testing::TestWithParam<BoolCase> {};

TEST_P(BoolKeyTest, FollowsResultFunction) {
  const BoolCase& c = GetParam();
  auto with = [&](bool ours) {
    NegotiationOptions o = TcpOptions();
    const std::string k = c.key;
    if (k == "ImmediateData") o.immediate_data = ours;
    if (k == "InitialR2T") o.initial_r2t = ours;
    if (k == "DataPDUInOrder") o.data_pdu_in_order = ours;
    if (k == "DataSequenceInOrder") o.data_sequence_in_order = ours;
    return Offered(o);
  };
  // The value that only the target can change: Yes for AND, No for OR.
  const bool open = c.is_and;
  {
    auto n = with(open);
    ASSERT_TRUE(Answer(n, c.key, open ? "No" : "Yes").ok()) << c.key;
    EXPECT_EQ(n.params().*c.field, !open) << c.key;
  }
  {
    auto n = with(open);
    ASSERT_TRUE(Answer(n, c.key, open ? "Yes" : "No").ok()) << c.key;
    EXPECT_EQ(n.params().*c.field, open) << c.key;
  }
  {
    // Our value decides; the opposite answer breaks the result function.
    auto n = with(!open);
    auto s = Answer(n, c.key, open ? "Yes" : "No");
    ASSERT_FALSE(s.ok()) << c.key;
    EXPECT_THAT(Msg(s), HasSubstr(c.key));
  }
  {
    auto n = with(open);
    EXPECT_FALSE(Answer(n, c.key, "Maybe").ok()) << c.key;
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllBoolKeys, BoolKeyTest,
    ::testing::Values(BoolCase{"ImmediateData", &SessionParams::immediate_data, true},
                      BoolCase{"InitialR2T", &SessionParams::initial_r2t, false},
                      BoolCase{"DataPDUInOrder", &SessionParams::data_pdu_in_order, false},
                      BoolCase{"DataSequenceInOrder", &SessionParams::data_sequence_in_order,
                               false}));

TEST(DeclarativeTest, MaxRecvDataSegmentLengthIsPerDirection) {
  auto n = Offered(TcpOptions());
  ASSERT_TRUE(Answer(n, "MaxRecvDataSegmentLength", "65536").ok());
  EXPECT_EQ(n.params().target_max_recv_data_segment_length, 65536u);
  EXPECT_EQ(n.params().max_recv_data_segment_length, 131072u);
  EXPECT_EQ(n.params().MaxSendDataSegmentLength(), 65536u);
  EXPECT_EQ(n.params().MaxRecvDataSegmentLength(), 131072u);
  // A larger declaration than ours is fine: it is the target's receive size.
  auto m = Offered(TcpOptions());
  ASSERT_TRUE(Answer(m, "MaxRecvDataSegmentLength", "262144").ok());
  EXPECT_EQ(m.params().target_max_recv_data_segment_length, 262144u);
}

TEST(DeclarativeTest, RejectsOutOfRangeAndRepeatedDeclarations) {
  auto n = Offered(TcpOptions());
  auto s = Answer(n, "MaxRecvDataSegmentLength", "100");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(Msg(s), HasSubstr("MaxRecvDataSegmentLength=100"));
  auto m = Offered(TcpOptions());
  EXPECT_FALSE(Answer(m, "MaxRecvDataSegmentLength", "16777216").ok());
  auto k = Offered(TcpOptions());
  ASSERT_TRUE(Answer(k, "MaxRecvDataSegmentLength", "8192").ok());
  EXPECT_FALSE(Answer(k, "MaxRecvDataSegmentLength", "8192").ok());
}

TEST(DeclarativeTest, TargetPortalGroupTagAndAlias) {
  auto n = Offered(TcpOptions());
  ASSERT_TRUE(n.ApplyResponse({{"TargetPortalGroupTag", "7"}, {"TargetAlias", "disk one"}}).ok());
  ASSERT_TRUE(n.params().target_portal_group_tag.has_value());
  EXPECT_EQ(*n.params().target_portal_group_tag, 7);
  EXPECT_EQ(n.params().target_alias, "disk one");
  auto m = Offered(TcpOptions());
  EXPECT_FALSE(Answer(m, "TargetPortalGroupTag", "65536").ok());
}

TEST(SpecialAnswersTest, NotUnderstoodIrrelevantReject) {
  auto n = Offered(TcpOptions());
  auto s = Answer(n, "MaxBurstLength", "NotUnderstood");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(Msg(s), HasSubstr("MaxBurstLength=NotUnderstood"));

  auto m = Offered(TcpOptions());
  ASSERT_TRUE(Answer(m, "MaxBurstLength", "Reject").ok());
  ASSERT_TRUE(Answer(m, "FirstBurstLength", "Irrelevant").ok());
  EXPECT_EQ(m.params().max_burst_length, 262144u);  // RFC default
  EXPECT_EQ(m.params().first_burst_length, 65536u);
  EXPECT_TRUE(m.Finish().ok());
}

TEST(SpecialAnswersTest, KeyNegotiatedTwiceIsAnError) {
  auto n = Offered(TcpOptions());
  ASSERT_TRUE(Answer(n, "MaxBurstLength", "65536").ok());
  auto s = Answer(n, "MaxBurstLength", "65536");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(Msg(s), HasSubstr("twice"));
}

TEST(FinishTest, FirstBurstMustNotExceedMaxBurst) {
  auto n = Offered(TcpOptions());
  ASSERT_TRUE(n.ApplyResponse({{"MaxBurstLength", "65536"}, {"FirstBurstLength", "262144"}}).ok());
  auto s = n.Finish();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(Msg(s), HasSubstr("FirstBurstLength=262144 exceeds MaxBurstLength=65536"));

  // Irrelevant when InitialR2T=Yes and ImmediateData=No.
  NegotiationOptions o = TcpOptions();
  o.initial_r2t = true;
  o.immediate_data = false;
  auto m = Offered(o);
  ASSERT_TRUE(m.ApplyResponse({{"MaxBurstLength", "65536"}, {"FirstBurstLength", "262144"}}).ok());
  EXPECT_TRUE(m.Finish().ok());
}

TEST(FinishTest, UnansweredKeysResolve) {
  NegotiationOptions o = TcpOptions();
  o.initial_r2t = true;      // OR with Yes: decided by us
  o.immediate_data = false;  // AND with No: decided by us
  auto n = Offered(o);
  EXPECT_FALSE(n.AllAnswered());
  ASSERT_TRUE(n.Finish().ok());
  EXPECT_TRUE(n.params().initial_r2t);
  EXPECT_FALSE(n.params().immediate_data);
  EXPECT_EQ(n.params().max_burst_length, 262144u);  // unanswered: RFC default
  EXPECT_EQ(n.params().max_outstanding_r2t, 1u);
  EXPECT_EQ(n.params().header_digest, Digest::kNone);
}

TEST(TargetProposalTest, AnswersKeysWeDidNotOffer) {
  auto n = OperationalNegotiator::Create(TcpOptions(), SessionType::kNormal);
  ASSERT_TRUE(n.ok());
  // The target speaks first (e.g. in its first response).
  auto replies = n->ApplyResponse({{"MaxBurstLength", "65536"},
                                   {"DefaultTime2Wait", "5"},
                                   {"ImmediateData", "No"},
                                   {"InitialR2T", "Yes"},
                                   {"HeaderDigest", "None,CRC32C"},
                                   {"DataDigest", "CRC32C"},
                                   {"MaxOutstandingR2T", "0"},
                                   {"X-com.example.foo", "1"},
                                   {"IFMarker", "Yes"},
                                   {"OFMarkInt", "2048~4096"}});
  ASSERT_TRUE(replies.ok()) << replies.status();
  EXPECT_EQ(*replies, (TextPairs{{"MaxBurstLength", "65536"},
                                 {"DefaultTime2Wait", "5"},
                                 {"ImmediateData", "No"},
                                 {"InitialR2T", "Yes"},
                                 {"HeaderDigest", "None"},
                                 {"DataDigest", "Reject"},
                                 {"MaxOutstandingR2T", "Reject"},
                                 {"X-com.example.foo", "NotUnderstood"},
                                 {"IFMarker", "No"},
                                 {"OFMarkInt", "Reject"}}));
  EXPECT_EQ(n->params().max_burst_length, 65536u);
  EXPECT_EQ(n->params().default_time2wait, 5u);
  EXPECT_FALSE(n->params().immediate_data);
  EXPECT_TRUE(n->params().initial_r2t);
  // Keys already settled are not offered again.
  const TextPairs offer = n->TakeOffer();
  EXPECT_EQ(FindValue(offer, "MaxBurstLength"), nullptr);
  EXPECT_EQ(FindValue(offer, "HeaderDigest"), nullptr);
  ASSERT_NE(FindValue(offer, "FirstBurstLength"), nullptr);
}

TEST(TargetProposalTest, MinAndMaxUseOurValue) {
  auto n = OperationalNegotiator::Create(TcpOptions(), SessionType::kNormal);
  ASSERT_TRUE(n.ok());
  auto replies = n->ApplyResponse({{"MaxBurstLength", "16777215"}, {"DefaultTime2Wait", "0"}});
  ASSERT_TRUE(replies.ok());
  EXPECT_EQ(*replies, (TextPairs{{"MaxBurstLength", "1048576"}, {"DefaultTime2Wait", "2"}}));
}

TEST(TargetProposalTest, DigestProposalWithoutAcceptableChoiceFailsWhenNoneRefused) {
  NegotiationOptions o = TcpOptions();
  o.data_digests = {Digest::kCrc32c};
  auto n = OperationalNegotiator::Create(o, SessionType::kNormal);
  ASSERT_TRUE(n.ok());
  EXPECT_FALSE(n->ApplyResponse({{"DataDigest", "None"}}).ok());
}

TEST(TargetProposalTest, DiscoveryAnswersIrrelevant) {
  auto n = OperationalNegotiator::Create(TcpOptions(), SessionType::kDiscovery);
  ASSERT_TRUE(n.ok());
  auto replies = n->ApplyResponse({{"MaxBurstLength", "65536"}, {"RDMAExtensions", "Yes"}});
  ASSERT_TRUE(replies.ok());
  EXPECT_EQ(*replies,
            (TextPairs{{"MaxBurstLength", "Irrelevant"}, {"RDMAExtensions", "Irrelevant"}}));
}

TEST(TargetProposalTest, NonIserSessionDeclinesRdmaExtensions) {
  auto n = OperationalNegotiator::Create(TcpOptions(), SessionType::kNormal);
  ASSERT_TRUE(n.ok());
  auto replies = n->ApplyResponse({{"RDMAExtensions", "Yes"}});
  ASSERT_TRUE(replies.ok());
  EXPECT_EQ(*replies, (TextPairs{{"RDMAExtensions", "No"}}));
  EXPECT_FALSE(n->params().rdma_extensions);
}

class IserNegotiationTest : public ::testing::Test {
 protected:
  static NegotiationOptions Options() {
    NegotiationOptions o = TcpOptions();
    o.iser = true;
    o.initiator_recv_data_segment_length = 65536;
    return o;
  }
};

TEST_F(IserNegotiationTest, Accepted) {
  auto n = Offered(Options());
  ASSERT_TRUE(n.ApplyResponse({{"RDMAExtensions", "Yes"},
                               {"TargetRecvDataSegmentLength", "131072"},
                               {"InitiatorRecvDataSegmentLength", "65536"},
                               {"MaxOutstandingUnexpectedPDUs", "16"}})
                  .ok());
  ASSERT_TRUE(n.Finish().ok());
  EXPECT_TRUE(n.params().rdma_extensions);
  EXPECT_EQ(n.params().initiator_recv_data_segment_length, 65536u);
  EXPECT_EQ(n.params().MaxRecvDataSegmentLength(), 65536u);
  // What the target receives bounds what we send.
  EXPECT_EQ(n.params().MaxSendDataSegmentLength(), 131072u);
  EXPECT_EQ(n.params().max_outstanding_unexpected_pdus, 16u);
}

TEST_F(IserNegotiationTest, TargetRecvIsTheTargetsValue) {
  NegotiationOptions o = Options();
  o.target_recv_data_segment_length = 262144;
  auto larger = Offered(o);
  ASSERT_TRUE(
      larger.ApplyResponse({{"RDMAExtensions", "Yes"}, {"TargetRecvDataSegmentLength", "131072"}})
          .ok());
  ASSERT_TRUE(larger.Finish().ok());
  EXPECT_EQ(larger.params().MaxSendDataSegmentLength(), 131072u);
  auto silent = Offered(o);  // no answer: the RFC 7145 default
  ASSERT_TRUE(silent.ApplyResponse({{"RDMAExtensions", "Yes"}}).ok());
  ASSERT_TRUE(silent.Finish().ok());
  EXPECT_EQ(silent.params().MaxSendDataSegmentLength(), 8192u);

  auto smaller = Offered(Options());
  ASSERT_TRUE(
      smaller.ApplyResponse({{"RDMAExtensions", "Yes"}, {"TargetRecvDataSegmentLength", "4096"}})
          .ok());
  ASSERT_TRUE(smaller.Finish().ok());
  EXPECT_EQ(smaller.params().MaxSendDataSegmentLength(), 4096u);
}

TEST_F(IserNegotiationTest, TargetRecvProposedByTheTargetFirst) {
  // LIO's order: it proposes the key in its first response; our offer was
  // in the same request, its value is the one that counts.
  auto n = OperationalNegotiator::Create(Options(), SessionType::kNormal);
  ASSERT_TRUE(n.ok());
  const TextPairs offer = n->TakeOffer();
  ASSERT_NE(FindValue(offer, "TargetRecvDataSegmentLength"), nullptr);
  auto replies = n->ApplyResponse({{"TargetRecvDataSegmentLength", "8192"},
                                   {"RDMAExtensions", "Yes"},
                                   {"InitiatorRecvDataSegmentLength", "65536"}});
  ASSERT_TRUE(replies.ok()) << replies.status();
  EXPECT_TRUE(replies->empty());  // declarations need no answer
  ASSERT_TRUE(n->Finish().ok());
  EXPECT_EQ(n->params().MaxSendDataSegmentLength(), 8192u);
}

TEST_F(IserNegotiationTest, BadTargetRecvOptionRejected) {
  NegotiationOptions o = Options();
  o.target_recv_data_segment_length = 100;
  EXPECT_FALSE(OperationalNegotiator::Create(o, SessionType::kNormal).ok());
}

TEST_F(IserNegotiationTest, RefusedOrUnknownFails) {
  for (const char* answer : {"No", "NotUnderstood", "Reject"}) {
    auto n = Offered(Options());
    auto s = Answer(n, "RDMAExtensions", answer);
    ASSERT_FALSE(s.ok()) << answer;
    EXPECT_THAT(Msg(s), HasSubstr("RDMAExtensions")) << answer;
  }
  auto silent = Offered(Options());
  EXPECT_FALSE(silent.Finish().ok());
}

TEST_F(IserNegotiationTest, OptionalIserKeysMayBeUnknown) {
  NegotiationOptions o = Options();
  o.max_outstanding_unexpected_pdus = 8;
  auto n = Offered(o);
  ASSERT_TRUE(n.ApplyResponse(
                   {{"RDMAExtensions", "Yes"}, {"MaxOutstandingUnexpectedPDUs", "NotUnderstood"}})
                  .ok());
  EXPECT_TRUE(n.Finish().ok());
  EXPECT_EQ(n.params().MaxSendDataSegmentLength(), 8192u);  // RFC 7145 default
}

TEST_F(IserNegotiationTest, TargetRecvOutOfRangeFails) {
  auto n = Offered(Options());
  EXPECT_FALSE(Answer(n, "TargetRecvDataSegmentLength", "511").ok());
  auto m = Offered(Options());
  EXPECT_FALSE(Answer(m, "MaxOutstandingUnexpectedPDUs", "1").ok());
}

}  // namespace
}  // namespace isergw::iscsi
