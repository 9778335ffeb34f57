package slack

import "time"

// SetAnswerWithin changes how long b's responses wait for answers.
func SetAnswerWithin(b *Bot, d time.Duration) { b.answerWithin = d }
