// The values that cross between the decoy's supervisor and its workers (decoy/channel.hpp): a worker
// started from an older binary during an upgrade reads the same numbers, and the records name the
// modes by kModeNames. This test fails when one is renumbered; a new value goes at the end.
#include <gtest/gtest.h>

#include "decoy/channel.hpp"
#include "decoy/options.hpp"
#include "decoy/smtp_command.hpp"

namespace strikeout::decoy {
namespace {

TEST(DecoyChannelValues, ModesMechanismsAndMessageTypesArePinned) {
  EXPECT_EQ(static_cast<int>(Mode::Insult), 0);
  EXPECT_EQ(static_cast<int>(Mode::Stutter), 1);
  EXPECT_EQ(static_cast<int>(Mode::Decoy), 2);
  EXPECT_EQ(static_cast<int>(Mode::Endless), 3);
  EXPECT_EQ(kLastMode, Mode::Endless);
  ASSERT_EQ(std::size(kModeNames), 4U);
  EXPECT_STREQ(kModeNames[static_cast<int>(Mode::Insult)], "insult");
  EXPECT_STREQ(kModeNames[static_cast<int>(Mode::Stutter)], "stutter");
  EXPECT_STREQ(kModeNames[static_cast<int>(Mode::Decoy)], "decoy");
  EXPECT_STREQ(kModeNames[static_cast<int>(Mode::Endless)], "endless");
  EXPECT_EQ(static_cast<int>(Mechanism::Plain), 0);
  EXPECT_EQ(static_cast<int>(Mechanism::Login), 1);
  EXPECT_EQ(static_cast<int>(Mechanism::Other), 2);
  EXPECT_EQ(kLastMechanism, Mechanism::Other);
  EXPECT_EQ(static_cast<int>(channel::Type::Attempt), 1);
  EXPECT_EQ(static_cast<int>(channel::Type::Counters), 2);
  EXPECT_EQ(static_cast<int>(channel::Type::Assign), 3);
}

}  // namespace
}  // namespace strikeout::decoy
