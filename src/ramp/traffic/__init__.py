"""Traffic routers: one module per ingress controller or mesh, behind `ramp.traffic.base.Router`."""
