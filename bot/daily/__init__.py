"""The daily practice question: schedules and posting, answering, boards, the weekly report."""
