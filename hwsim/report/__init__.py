"""hwsim.report"""
