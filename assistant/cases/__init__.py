"""Cases (个案), plan versions, confirmation, referrals (服务工单), follow-ups (回访), gap reports, audit API."""
