"""hwsim.workload"""
